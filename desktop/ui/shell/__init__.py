"""The window's frame: main window, pages, style, single instance, crash dialog."""
