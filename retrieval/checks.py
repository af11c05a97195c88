"""System checks: configuration mistakes reported at start-up with stable ids.

The graph-store check connects to the store, so it is tagged `database`:
Django runs it on `migrate` and `check --database default`, not on every command.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_model_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from retrieval.graphstores import backend_class

    errors: list[checks.CheckMessage] = []
    try:
        backend = backend_class()
    except ImportError as error:
        return [
            checks.Error(
                f"The graph store backend {settings.GRAPH_STORE_BACKEND} cannot be imported: "
                f"{error}",
                hint="Set GRAPH_STORE to falkordb, neo4j or the dotted path of a GraphStore class.",
                id="retrieval.E004",
            )
        ]
    errors.extend(
        checks.Error(problem, id="retrieval.E001") for problem in backend.configuration_errors()
    )
    if settings.EMBEDDINGS == "openai" and not (
        settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL
    ):
        errors.append(
            checks.Error(
                "EMBEDDINGS is openai but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set.",
                hint="Set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), "
                "or use EMBEDDINGS=local.",
                id="retrieval.E002",
            )
        )
    return errors


@checks.register(checks.Tags.database)
def check_graph_store(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not databases:
        return []
    from retrieval.errors import ConfigurationError
    from retrieval.graphstores import aget_store, backend_class
    from retrieval.loops import run_sync

    try:
        run_sync(aget_store)  # creates the indexes, checks the dimension
    except ConfigurationError as error:
        return [checks.Error(error.message, id="retrieval.E003")]
    except Exception as error:
        return [
            checks.Warning(
                f"The graph store ({backend_class().name}) could not be reached: {error}",
                hint="Documents cannot be ingested or searched until it is reachable.",
                id="retrieval.W001",
            )
        ]
    return []
