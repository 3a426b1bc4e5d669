"""Errors that carry a message a curator can act on."""


class FashionSimError(Exception):
    """Base class: str(error) is a sentence for a person, not a traceback."""


class FolderError(FashionSimError):
    """The folder to index is missing, not a folder, or unreadable."""


class CatalogError(FashionSimError):
    """The catalogue database cannot be opened or written."""


class ModelError(FashionSimError):
    """The embedding model file is missing or cannot be loaded."""


class Cancelled(FashionSimError):
    """A long job was cancelled by the user; finished work is kept."""

    def __init__(self, message: str = "Cancelled. Finished work is kept; run again to resume."):
        super().__init__(message)
