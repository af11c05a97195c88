"""A worker killed with SIGKILL in the middle of a document, against real processes.

The document's heartbeat stops with its worker; a restarted worker re-queues
it once it has been silent for `--recover-after` and ingests it again from
the start. Every chunk is stored once: none from the killed run is left
staged or doubled.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from retrieval.tests.test_store_faults import COUNT_CHUNKS
from tests.live import REPORTS, LiveApp, bearer

pytestmark = pytest.mark.slow


def test_a_worker_killed_mid_document_is_replaced_and_the_document_is_ingested_once(tmp_path):
    app = LiveApp(
        tmp_path,
        CHUNK_SIZE="100",
        CHUNK_OVERLAP="0",
        INGEST_HEARTBEAT_SECONDS="0.5",
        LOG_LEVEL="WARNING",
    )
    app.start()
    try:
        app.create_user("alice", "alice-pass-123")
        headers = bearer(app.url)
        worker = app.start_worker("--recover-after", "2")
        document_id = app.upload(headers, "reports.txt", REPORTS)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # partway through its passages
            seen = app.document(headers, document_id)
            if seen["status"] in ("embedding", "indexing") and seen["progress"] > 10:
                break
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = app.document(headers, document_id)
        assert killed_at["status"] in ("embedding", "indexing"), killed_at

        app.start_worker("--recover-after", "2")
        seen = app.settled(headers, document_id)

        assert (seen["status"], seen["error"]) == ("ready", "")
        total = seen["chunks"]
        assert total > 500  # many batches, the kill fell between them
        stored = app.manage("shell", "-c", COUNT_CHUNKS.format(document_id=document_id))
        assert int(stored.split()[-1]) == total  # every chunk once
        log = (tmp_path / "worker.log").read_text()
        # Re-queued once: at the new worker's start, or by its watch soon after.
        assert log.count(f"re-queued interrupted ingestion of {document_id}") == 1
        answer = httpx.post(
            f"{app.url}/api/query/",
            json={"query": "Where did falcon report 7 dive?"},
            headers=headers,
            timeout=60,
        )
        assert answer.status_code == 200
        assert answer.json()["citations"][0]["document_id"] == document_id
    finally:
        app.stop()
