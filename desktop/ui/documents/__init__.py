"""The Documents page, indexing in the background, the collection picker, the sources panel."""
