"""A turn of conversation without Qt, shared by the window and the command line."""
