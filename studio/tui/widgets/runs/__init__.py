"""Widgets of the Runs screen: the runs table and the loss-curve comparison."""
