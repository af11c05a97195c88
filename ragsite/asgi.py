"""ASGI entry point (daphne or uvicorn).

Request bodies over their limit are refused as they arrive (ragsite.body_limit).

The embedding model (and the chat model's client library, or a first answer of the
local model) load in the background as the server starts, so the first question
does not wait for them. Then everything made so far is frozen out of Python's
garbage collector: its full collections walked all of it (Django, the models,
their libraries), a pause of about 95 ms that every answer streaming at that
moment felt as a late token (bench/RESULTS.md, 50 streams: gap p99 99 -> 6 ms).

From then on the collector runs less often (COLLECTOR_THRESHOLDS). A streamed answer
keeps every chunk LangChain makes until it ends (`BaseChatModel.astream` merges
them then), so 300 answers hold hundreds of thousands of live objects that Python's
default thresholds walked again and again: a full collection every second or so,
each longer than the last (120 to 370 ms), and a quarter of the event loop's time
(bench/RESULTS.md). What the process frees is freed by reference counting as it
goes; the collector is only for cycles, which can wait.
"""

import gc
import logging
import os
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ragsite.settings")

from django.conf import settings

from ragsite import eager_tasks
from ragsite.asgi_handler import get_asgi_application  # settings first
from ragsite.body_limit import BodyLimit, install_in_daphne

install_in_daphne()  # daphne buffers bodies before the application sees them
eager_tasks.install_on_running_loop()
application = BodyLimit(get_asgi_application())


# Objects allocated before the youngest generation is collected (Python's default: 700),
# then collections of one generation before the next older one is (10 and 10).
# Streaming, most young objects outlive a collection (the answer holds them): a middle
# generation of 10 x 10,000 keeps its passes short (25 ms at most under 300 streams;
# at 20 x 50,000 one took 270 ms), and full passes wait for 100 of those.
COLLECTOR_THRESHOLDS = (10_000, 10, 100)


def _warm_up() -> None:
    from retrieval import embeddings, llm

    started = time.perf_counter()
    try:
        embeddings.warm_up()
        if llm.configured():
            llm.warm_up()  # a second's import and the first build, not the first question's
        else:
            from queries import generation

            generation.warm_up()
    except Exception:  # the first question will say what is wrong
        logging.getLogger(__name__).exception("could not load the models")
    else:
        logging.getLogger(__name__).info(
            "models loaded in %.1f s: ready for questions", time.perf_counter() - started
        )
    if settings.SERVER_COLLECTOR:
        gc.collect()  # what start-up left for the collector goes first, not into the freeze
        gc.freeze()
        gc.set_threshold(*COLLECTOR_THRESHOLDS)


threading.Thread(target=_warm_up, name="embeddings-warm-up", daemon=True).start()
