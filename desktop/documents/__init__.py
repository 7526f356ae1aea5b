"""Documents: the user's own files made searchable (Qt-free).

A file is parsed in a child process with a time and memory limit (`parser`, `child`), cut
into passages that keep their heading path and page (`chunk`), and stored with a full-text
index in the encrypted database (`desktop.storage.documents`) by the `indexer`, which is
incremental (only changed files are redone) and resumable (each file is committed alone).
"""
