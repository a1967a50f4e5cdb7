"""The Falcon monitoring front end."""
