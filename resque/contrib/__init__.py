"""Integrations with other frameworks, each an optional subpackage."""
