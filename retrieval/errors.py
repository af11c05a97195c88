"""One exception tree for the whole product.

Every error a user may see carries a sentence meant for that user and a short
stable code, so views, admin and the worker can show it without ever leaking a
traceback. Each class declares its code and HTTP status where it is named;
`retry` says whether trying again later could help.
"""

from __future__ import annotations

from typing import Any


class RagError(Exception):
    code = "error"
    status = 500
    retry = False

    def __init_subclass__(cls, **declared: Any) -> None:
        # class NotFound(RagError, code="not_found", status=404): one line per error
        for name in ("code", "status", "retry"):
            if name in declared:
                setattr(cls, name, declared.pop(name))
        super().__init_subclass__(**declared)

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class UploadError(RagError, code="invalid_file", status=400):
    """The uploaded file is refused before anything is stored."""


class UnsupportedType(UploadError, code="unsupported_type", status=415):
    pass


class FileTooLarge(UploadError, code="file_too_large", status=413):
    pass


class DuplicateDocument(UploadError, code="duplicate", status=409):
    def __init__(self, message: str, *, existing_id: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class IngestionError(RagError, code="ingestion_failed", status=422):
    """A stored document could not be turned into chunks; the reason is shown as is."""


class StoreError(RagError, code="graph_store_unavailable", status=503, retry=True):
    UNREACHABLE = "The graph store is not reachable right now. Try again in a moment."
    BUSY = "The graph store is busy right now. Try again in a moment."


class StoreTimeout(StoreError, code="graph_store_timeout"):
    """A statement got no answer within GRAPH_STORE_TIMEOUT (a stopped or hung store)."""

    TIMEOUT = "The graph store did not answer in time. Try again in a moment."


class StoreQueryError(StoreError, code="graph_store_error", status=500, retry=False):
    """The store answered, refusing a statement: trying again will not help."""

    REFUSED = "The graph store could not run a query. If this persists, contact an administrator."


class EmbeddingError(RagError, code="embeddings_unavailable", status=502, retry=True):
    """The remote embedding model failed; the local one never raises this."""

    FAILED = "The embedding model did not answer. Try again in a moment."
    SLOW = "The embedding model took too long to answer. Try again in a moment."


class ConfigurationError(RagError, code="misconfigured", status=500):
    pass


class Throttled(RagError, code="throttled", status=429, retry=True):
    """Too many requests in a window, or too many at once: answered with Retry-After."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class QuotaExceeded(UploadError, code="quota_exceeded", status=403):
    """An account holds as much as it may; waiting does not help, deleting does."""
