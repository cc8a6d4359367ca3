"""What callers want done: the reindex and the index's status (the command line calls
them); the consumers' event handlers live in `consumers.py`."""
