"""Finding conversations again: sidebar, search, trash."""
