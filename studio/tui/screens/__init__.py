"""One screen per file; `SCREENS` is the order of the tab bar and of the keys 1-5."""
