"""Corpora: formats, the line index, statistics, search, and the demo corpus generator."""
