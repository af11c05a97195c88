"""One exception tree for the whole product.

Every error a user may see carries a sentence meant for that user and a short
stable code, so views, admin and the worker can show it without ever leaking a
traceback. `retry` says whether trying again later could help.
"""

from __future__ import annotations


class RagError(Exception):
    code = "error"
    status = 500
    retry = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class UploadError(RagError):
    """The uploaded file is refused before anything is stored."""

    code = "invalid_file"
    status = 400


class UnsupportedType(UploadError):
    code = "unsupported_type"
    status = 415


class FileTooLarge(UploadError):
    code = "file_too_large"
    status = 413


class DuplicateDocument(UploadError):
    code = "duplicate"
    status = 409

    def __init__(self, message: str, *, existing_id: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class IngestionError(RagError):
    """A stored document could not be turned into chunks; the reason is shown as is."""

    code = "ingestion_failed"
    status = 422


class StoreError(RagError):
    code = "graph_store_unavailable"
    status = 503
    retry = True

    UNREACHABLE = "The graph store is not reachable right now. Try again in a moment."


class ConfigurationError(RagError):
    code = "misconfigured"
    status = 500
