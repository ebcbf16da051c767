"""The Textual front end. Never imports torch, transformers or datasets at module import."""
