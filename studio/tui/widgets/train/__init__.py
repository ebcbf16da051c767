"""Widgets of the Train screen: curves, devices, log, checkpoints, probes, dialogs."""
