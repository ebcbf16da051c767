"""Corpora: formats, the line index, statistics, search, and the demo corpus generator.

- `formats`: what a path holds (`describe_corpus`) and `load_text_dataset` (a `datasets.Dataset`
  with one `text` column, for the tokenizer trainer and the training data pipeline);
- `document`: a corpus as plain text segments with line indexes (non-plain formats materialised
  once into the cache), read row by row by the viewer;
- `index`: the sparse line-offset index (numpy over mmap), cached by path, size and mtime;
- `stats`: streamed, vectorised statistics (`studio corpus stats`);
- `search`: literal/regex search with streamed hits (`studio corpus search`);
- `demo`: the generated Esperanto-like demo corpus.
"""
