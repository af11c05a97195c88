"""manage.py ingest FILE... --owner USERNAME: ingest files from the shell, in this process.

On a terminal each file gets a progress bar; elsewhere (a log, a pipe, CI) a plain
line per stage and about every tenth of the way. The embedding model is loaded
first, saying so, rather than inside the first file's bar at 0%.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from retrieval import documents, embeddings, ingestion
from retrieval.errors import DuplicateDocument, UploadError
from retrieval.models import Document


class Command(BaseCommand):
    help = "Upload and ingest files for a user, showing progress."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--owner", required=True, help="username that will own the documents")
        parser.add_argument("--title", help="title (only with a single file)")
        parser.add_argument(
            "--reingest", action="store_true", help="re-ingest files that were already uploaded"
        )

    def handle(
        self,
        *args: Any,
        files: list[Path],
        owner: str,
        title: str | None,
        reingest: bool,
        **options: Any,
    ) -> None:
        try:
            user = get_user_model().objects.get_by_natural_key(owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {owner!r}.") from None
        if title and len(files) > 1:
            raise CommandError("--title can only be used with a single file.")
        self._load_model()
        failures = 0
        for path in files:
            try:
                document = self._upload(user, path, title, reingest)
            except UploadError as error:
                failures += 1
                self.stderr.write(f"{path.name}: {error.message}")
                continue
            if document is None:
                continue
            status = self._ingest(document)
            document.refresh_from_db()
            if status == Document.Status.READY:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{path.name}: ready, {document.chunk_count} chunks (id {document.pk})"
                    )
                )
            elif status == "busy":
                failures += 1
                self.stderr.write(f"{path.name}: being ingested by the worker right now; skipped.")
            else:
                failures += 1
                self.stderr.write(f"{path.name}: failed: {document.error}")
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) were not ingested.")

    def _upload(self, user: Any, path: Path, title: str | None, reingest: bool) -> Document | None:
        """The document to ingest now; None when it is skipped as a duplicate."""
        if not path.is_file():
            raise UploadError(f"No such file: {path}")
        try:
            with path.open("rb") as handle:
                return documents.create_document(
                    user, handle, path.name, title=title, enqueue=False
                )
        except DuplicateDocument as duplicate:
            if reingest:
                return Document.objects.get(pk=duplicate.existing_id)
            self.stdout.write(f"{path.name}: {duplicate.message} Skipped (use --reingest).")
            return None

    def _load_model(self) -> None:
        started = time.perf_counter()
        self.stdout.write("Loading the embedding model...")
        embeddings.warm_up(documents=True)
        self.stdout.write(f"Embedding model ready ({time.perf_counter() - started:.1f} s).")

    def _ingest(self, document: Document) -> str:
        if not self.stdout.isatty():
            return self._ingest_with_lines(document)
        bar = tqdm(desc=document.filename[:30], unit="chunk", leave=True)

        def progress(stage: str, done: int, total: int) -> None:
            bar.set_postfix_str(stage)
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            return ingestion.ingest_document(document.pk, on_progress=progress)
        finally:
            bar.close()

    def _ingest_with_lines(self, document: Document) -> str:
        shown = ("", -1)  # the stage and tenth of the way last written

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal shown
            tenth = done * 10 // total if total else 0
            if (stage, tenth) != shown:
                shown = (stage, tenth)
                self.stdout.write(f"{document.filename}: {stage} {done}/{total}")

        return ingestion.ingest_document(document.pk, on_progress=progress)
