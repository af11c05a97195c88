"""ASGI entry point (daphne or uvicorn).

The embedding model is loaded in the background as the server starts, so the
first question does not wait for it.
"""

import logging
import os
import threading
import time

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ragsite.settings")

application = get_asgi_application()


def _warm_up() -> None:
    from retrieval import embeddings

    started = time.perf_counter()
    try:
        embeddings.warm_up()
    except Exception:  # the first question will say what is wrong
        logging.getLogger(__name__).exception("could not load the embedding model")
        return
    logging.getLogger(__name__).info(
        "embedding model ready in %.1f s", time.perf_counter() - started
    )


threading.Thread(target=_warm_up, name="embeddings-warm-up", daemon=True).start()
