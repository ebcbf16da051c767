"""Studio: a terminal training studio for language models trained from scratch."""

__version__ = "0.1.0"
