"""An application module that fails at import with something other than ImportError."""
SETTINGS = {}
TIMEOUT = SETTINGS["timeout"]
