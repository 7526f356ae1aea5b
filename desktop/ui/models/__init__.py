"""The Models page: library list, details, settings, import, speed."""
