"""Reusable widgets, grouped by feature."""
