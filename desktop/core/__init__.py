"""Domain types, errors and prompt building: plain Python, no Qt, no engines."""
