"""Widgets of the Tokenizer screen: the vocabulary table, the try-it box, figures, the trainer form."""
