"""manage.py worker: the ingestion worker.

Loads the embedding model and checks the graph store once before taking any
task, puts documents a killed worker left half-done back in the queue (at
start-up and then periodically), drops expired token rows (at start-up and
then hourly), then runs django-tasks-db's worker loop.
"""

from __future__ import annotations

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
            args=(stop, HOUSEKEEPING_SECONDS, flush_expired),
            name="housekeeping",
            daemon=True,
        )
        housekeeping.start()
        try:
            call_command("db_worker", **worker_options)
        finally:
            stop.set()
