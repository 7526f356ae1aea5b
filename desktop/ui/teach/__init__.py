"""The Teach page: an adapter taught from the user's examples, in a child process."""
