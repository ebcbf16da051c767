"""Training: events, run directories, the launcher and worker, data, the fast engine, monitors."""
