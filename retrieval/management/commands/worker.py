"""manage.py worker: the ingestion worker.

Loads the embedding model and checks the graph store once before taking any
task, puts documents a killed worker left half-done back in the queue (at
start-up and then periodically), drops expired token rows (at start-up and
then hourly), gives chunks stored before their fulltext terms were their terms
(beside the tasks, once), then runs django-tasks-db's worker loop.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ragsite.tokens import flush_expired
from retrieval import embeddings, tasks
from retrieval.errors import RagError
from retrieval.graphstores import aget_store
from retrieval.loops import run_sync

logger = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600  # expired token rows dropped this often


class Command(BaseCommand):
    help = "Run the background ingestion worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--recover-after",
            type=float,
            default=60,
            metavar="SECONDS",
            help="re-queue documents in progress with no update for this long",
        )
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument(
            "--batch", action="store_true", help="process the tasks waiting now, then exit"
        )

    def handle(
        self, *args: Any, recover_after: float, max_tasks: int | None, batch: bool, **options: Any
    ) -> None:
        beats = 3 * settings.INGEST_HEARTBEAT_SECONDS
        if recover_after < beats:
            raise CommandError(
                f"--recover-after must be at least {beats:g} seconds (three heartbeats of a "
                "running ingestion, INGEST_HEARTBEAT_SECONDS), or live ones would be re-queued."
            )
        self.stdout.write("Loading the embedding model…")
        embeddings.warm_up(documents=True)

        try:
            run_sync(aget_store)  # creates the indexes, checks the dimension
        except RagError as error:
            raise CommandError(error.message) from None
        flush_expired()
        idle = timedelta(seconds=recover_after)
        for document in tasks.requeue_interrupted(idle=idle):
            self.stdout.write(f"Re-queued interrupted ingestion of “{document.title}”.")
        worker_options: dict[str, Any] = {"interval": 0.5}
        if max_tasks is not None:
            worker_options["max_tasks"] = max_tasks
        if batch:
            worker_options.update(batch=True, startup_delay=False, reload=False)
            call_command("db_worker", **worker_options)
            return
        threading.Thread(target=_complete_search_data, name="search-data", daemon=True).start()
        stop = threading.Event()
        watch = threading.Thread(
            target=tasks.watch_interrupted,
            args=(stop,),
            kwargs={"idle": idle, "every": recover_after / 2},
            name="interrupted-ingestions",
            daemon=True,
        )
        watch.start()
        housekeeping = threading.Thread(
            target=tasks.run_every,
            args=(stop, HOUSEKEEPING_SECONDS, _housekeeping),
            name="housekeeping",
            daemon=True,
        )
        housekeeping.start()
        try:
            call_command("db_worker", **worker_options)
        finally:
            stop.set()


def _housekeeping() -> None:
    flush_expired()
    _count_missing_words()


def _complete_search_data() -> None:
    """Data that searches read and older writes lack, made beside the tasks: chunks'
    terms, then documents' word counts (searches do without, slower, meanwhile)."""

    async def store() -> int:
        return await (await aget_store()).store_missing_terms()

    try:
        if stored := run_sync(store):
            logger.info("Stored the terms of %d chunks written before terms were.", stored)
    except Exception:  # searches count those chunks from their text meanwhile
        logger.exception("could not store the terms of older chunks")
    _count_missing_words()


def _count_missing_words() -> None:
    async def count() -> int:
        return await (await aget_store()).count_missing_words()

    try:
        if counted := run_sync(count):
            logger.info("Counted the words of %d documents.", counted)
    except Exception:  # their owners' searches count words in the fulltext index meanwhile
        logger.exception("could not count the words of older documents")
