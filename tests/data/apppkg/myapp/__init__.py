"""A package whose module is given to ``resque work -A`` as a file path."""
