"""The whole REST API, fuzzed from its own OpenAPI schema (schemathesis) on a real server.

Every operation gets requests made from its schema, valid and invalid, signed
in and not: none may answer with a 5xx, and every 4xx must be the API's JSON
error with a sentence a person can read. FUZZ_EXAMPLES sets how many requests
each operation gets (a short run here; bench/fuzz.py runs a long one).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.live import LiveApp, bearer

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
REPORT = os.environ.get("FUZZ_REPORT", "")  # a JSON file the status counts go to
STATUSES: Counter[str] = Counter()


class Live:
    def __init__(self, app: LiveApp) -> None:
        self.app = app
        self._headers: dict[str, str] = {}
        self._issued = 0.0

    def headers(self) -> dict[str, str]:
        """A fresh bearer token well within its 15 minutes (a long run outlives one)."""
        if time.monotonic() - self._issued > 300:
            self._headers = bearer(self.app.url)
            self._issued = time.monotonic()
        return self._headers


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    app = LiveApp(tmp_path_factory.mktemp("fuzz"), LOG_LEVEL="ERROR").start()
    try:
        app.create_user("alice", "alice-pass-123")
        yield Live(app)
    finally:
        app.stop()
        if REPORT:
            with open(REPORT, "w") as report:
                json.dump(dict(STATUSES), report)


@pytest.fixture(scope="module")
def operations(live: Live) -> list:
    schema = schemathesis.openapi.from_url(f"{live.app.url}/api/schema/?format=json")
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 13  # every operation of the API is fuzzed
    return found


def assert_answered_well(response, signed_in: bool) -> None:
    status = response.status_code
    STATUSES[f"{'signed in' if signed_in else 'anonymous'} {status}"] += 1
    assert status < 500, f"{status}: {response.text[:500]}"
    if status >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), f"{status}: {response.text[:300]}"
        body = response.json()
        assert isinstance(body.get("detail"), str) and len(body["detail"].split()) >= 2, body
        assert isinstance(body.get("code"), str) and body["code"], body
        assert "Traceback" not in response.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_no_request_gets_a_server_error_or_an_unreadable_refusal(live, operations, signed_in, mode):
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case) -> None:
            headers = live.headers() if signed_in else {}
            response = case.call(base_url=live.app.url, headers=headers, timeout=60)
            assert_answered_well(response, signed_in)

        try:
            fuzz()
        except AssertionError as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")

    assert not failures, "\n".join(failures)


def test_the_fuzzed_api_still_answers_afterwards(live):
    """The server survived the run: it still answers a plain question."""
    answer = httpx.post(
        f"{live.app.url}/api/query/",
        headers=live.headers(),
        json={"query": "What is in my documents?"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
