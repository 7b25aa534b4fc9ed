"""Errors the model package raises, so callers can tell a user what to fix."""


class ModelLoadError(RuntimeError):
    """A model or backbone directory is missing, incomplete or corrupt; the message names the file."""
