"""Small helpers every feature of the window may use (background tasks)."""
