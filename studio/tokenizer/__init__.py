"""Tokenizers: training (tokenizers, sentencepiece), the vocabulary, figures, comparison."""
