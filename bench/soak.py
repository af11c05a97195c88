"""Answers under load while documents come and go: nothing lost, nothing doubled.

One web process and one worker (embedded defaults) with an OpenAI-protocol
model server streaming 40 tokens at 20 tokens/s. For DURATION seconds,
CLIENTS readers each keep one conversation going, asking again as soon as an
answer ends; meanwhile 20 documents of HaluEval passages (../shared/data) are
uploaded and one of them is deleted while it is being ingested. Then checks,
from outside (API) and in the database:

- every stream ended with `done` and the exact text, no error and no refusal;
- every conversation holds exactly its questions and answers, in order, each
  answer complete, with the message ids the `done` events named (none lost,
  none doubled);
- the 19 documents left end ready with the chunks they report in the store;
  the deleted one is gone, its chunks with it.

Prints the figures and, with --results, appends them to bench/RESULTS.md.

    .venv/bin/python bench/soak.py [--clients 300] [--duration 60] [--results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results  # noqa: E402
from bench.ingest import dataset, parse_args, require_dataset  # noqa: E402
from bench.streaming import CORPUS, ModelServer, expected, percentile, rss_mb  # noqa: E402
from tests.live import UNLIMITED, LiveApp  # noqa: E402

TOKENS, RATE = 40, 20.0
DOCUMENTS, PASSAGES_EACH = 20, 40

# What the database holds afterwards, as JSON: each conversation's messages in order.
MESSAGES = """
import json
from queries.models import Conversation
print(json.dumps({
    str(c.id): [[str(m.id), m.role, m.status, m.text] for m in c.messages.order_by("created", "id")]
    for c in Conversation.objects.prefetch_related("messages")
}))
"""
CHUNKS = """
import asyncio, json
from retrieval.graphstores import aget_store
from tests import graph

async def count():
    store = await aget_store()
    return {{d: await graph.count_chunks(store, d) for d in {ids!r}}}

print(json.dumps(asyncio.run(count())))
"""


@dataclass
class Reader:
    """One person keeping a conversation going."""

    conversation: str | None = None
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # message ids from `done`
    errors: list[str] = field(default_factory=list)
    wrong_text: int = 0
    ttft: list[float] = field(default_factory=list)


async def keep_asking(
    client: httpx.AsyncClient, url: str, headers: dict, n: int, reader: Reader, until: float
) -> None:
    while time.monotonic() < until:
        question = f"What do falcons eat? (reader {n}, question {len(reader.questions) + 1})"
        body: dict = {"query": question, "max_results": 5}
        if reader.conversation:
            body["conversation_id"] = reader.conversation
        reader.questions.append(question)
        sent, text, done = time.monotonic(), "", None
        try:  # a copy: httpx-sse sets Accept in the dict it is given
            async with aconnect_sse(client, "POST", url, json=body, headers={**headers}) as source:
                if source.response.status_code != 200:
                    reader.errors.append(f"HTTP {source.response.status_code}")
                    continue
                async for event in source.aiter_sse():
                    if event.event == "token":
                        if not text:
                            reader.ttft.append(time.monotonic() - sent)
                        text += event.data
                    elif event.event == "done":
                        done = json.loads(event.data)
                    elif event.event == "error":
                        reader.errors.append(event.data)
        except (httpx.HTTPError, OSError) as error:
            reader.errors.append(type(error).__name__)
            continue
        if done is None:
            reader.errors.append("no done event")
            continue
        reader.conversation = done["conversation_id"]
        reader.answers.append(done["message_id"])
        reader.wrong_text += text != expected(TOKENS)


async def read_for(app: LiveApp, headers: dict, clients: int, duration: float) -> list[Reader]:
    readers = [Reader() for _ in range(clients)]
    url = f"{app.url}/api/query/stream/"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.monotonic()

        async def one(n: int) -> None:
            await asyncio.sleep(5.0 * n / clients)  # ramped over 5 s
            await keep_asking(client, url, headers, n, readers[n], start + duration)

        await asyncio.gather(*(one(n) for n in range(clients)))
    return readers


async def churn(app: LiveApp, headers: dict, folder: Path) -> tuple[list[str], str, list[str]]:
    """Upload the documents (a few seconds into the load), delete one mid-ingestion."""
    with dataset().open() as handle:
        texts = [json.loads(line)["knowledge"] for line in handle]
    kept, problems = [], []
    await asyncio.sleep(5)
    async with httpx.AsyncClient(base_url=app.url, headers=headers, timeout=120) as client:
        ids = []
        for n in range(DOCUMENTS):
            body = "\n\n".join(texts[n * PASSAGES_EACH : (n + 1) * PASSAGES_EACH])
            uploaded = await client.post(
                "/api/documents/", files={"file": (f"passages-{n:02}.txt", body.encode())}
            )
            if uploaded.status_code != 201:
                problems.append(f"upload {n}: HTTP {uploaded.status_code} {uploaded.text[:200]}")
                continue
            ids.append(uploaded.json()["id"])
        if not ids:
            raise SystemExit("no document could be uploaded:\n" + "\n".join(problems))
        victim = ids[len(ids) // 2]
        while (await client.get(f"/api/documents/{victim}/")).json()["status"] == "queued":
            await asyncio.sleep(0.1)
        deleted = await client.delete(f"/api/documents/{victim}/")
        if deleted.status_code != 204:
            problems.append(f"delete: HTTP {deleted.status_code}")
        kept = [i for i in ids if i != victim]
    return kept, victim, problems


async def settle(app: LiveApp, headers: dict, ids: list[str], seconds: float) -> dict[str, dict]:
    """Each document's final state, waiting up to `seconds` for the queue to drain."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=app.url, headers=headers, timeout=60) as client:
        while True:
            states = {i: (await client.get(f"/api/documents/{i}/")).json() for i in ids}
            settled = all(s.get("status") in ("ready", "failed") for s in states.values())
            if settled or time.monotonic() > deadline:
                return states
            await asyncio.sleep(1)


def check_messages(app: LiveApp, readers: list[Reader]) -> dict[str, int]:
    stored = json.loads(app.manage("shell", "-c", MESSAGES).strip().splitlines()[-1])
    lost = doubled = out_of_order = incomplete = 0
    named = Counter(m for r in readers for m in r.answers)
    doubled += sum(count - 1 for count in named.values())
    for reader in readers:
        messages = stored.get(reader.conversation or "", [])
        roles = [role for _, role, _, _ in messages]
        if roles != ["user", "assistant"] * (len(roles) // 2) or len(roles) % 2:
            out_of_order += 1
        asked = [text for _, role, _, text in messages if role == "user"]
        lost += len(set(reader.questions) - set(asked))
        doubled += len(asked) - len(set(asked))
        answers = [(i, status, text) for i, role, status, text in messages if role == "assistant"]
        lost += len(set(reader.answers) - {i for i, _, _ in answers})
        incomplete += sum(s != "complete" or t != expected(TOKENS) for _, s, t in answers)
    return {
        "conversations": len(stored),
        "messages": sum(len(m) for m in stored.values()),
        "messages lost": lost,
        "messages doubled": doubled,
        "conversations out of order": out_of_order,
        "answers stored incomplete": incomplete,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parse_args(parser)
    require_dataset()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as folder:
        model = ModelServer(TOKENS, RATE, Path(folder))
        app = LiveApp(
            Path(folder) / "app",
            OPENAI_API_KEY="bench",
            OPENAI_MODEL="bench",
            OPENAI_BASE_URL=model.base_url,
            LOG_LEVEL="WARNING",
            **UNLIMITED,
        )
        app.data.mkdir()
        try:
            app.start(worker=True)
            app.create_user("bench", "bench-pass-123")
            (app.data / "falcons.txt").write_text(CORPUS)
            app.manage("ingest", str(app.data / "falcons.txt"), "--owner", "bench")
            token = httpx.post(
                f"{app.url}/api/auth/token/",
                json={"username": "bench", "password": "bench-pass-123"},
            ).json()
            headers = {"Authorization": f"Bearer {token['access']}"}

            async def run() -> tuple[list[Reader], tuple[list[str], str, list[str]]]:
                readers, churned = await asyncio.gather(
                    read_for(app, headers, args.clients, args.duration),
                    churn(app, headers, Path(folder)),
                )
                return readers, churned

            started = time.monotonic()
            readers, (kept, victim, problems) = asyncio.run(run())
            elapsed = time.monotonic() - started
            web_rss = rss_mb(app.processes[0].pid)
            states = asyncio.run(settle(app, headers, kept, seconds=300))
            deleted = httpx.get(f"{app.url}/api/documents/{victim}/", headers=headers)
            counts = json.loads(
                app.manage("shell", "-c", CHUNKS.format(ids=[*kept, victim]))
                .strip()
                .splitlines()[-1]
            )
            ttft = [t * 1000 for r in readers for t in r.ttft]
            figures: dict[str, float | int] = {
                "readers": args.clients,
                "seconds": round(elapsed, 1),
                "answers": sum(len(r.answers) for r in readers),
                "errors": sum(len(r.errors) for r in readers),
                "answers with wrong text": sum(r.wrong_text for r in readers),
                # A follow-up waits for the model to rewrite it (2 s of tokens here).
                "first token ms p50": round(percentile(ttft, 0.5), 1),
                "first token ms p99": round(percentile(ttft, 0.99), 1),
                **check_messages(app, readers),
                "documents ready": sum(s.get("status") == "ready" for s in states.values()),
                "documents not ready": sum(s.get("status") != "ready" for s in states.values()),
                "documents whose stored chunks differ": sum(
                    counts[i] != s.get("chunks") for i, s in states.items()
                ),
                "deleted document still listed": int(deleted.status_code != 404),
                "deleted document's chunks left": counts[victim],
                "web RSS MB": round(web_rss),
            }
            errors = Counter(e[:120] for r in readers for e in r.errors)
        finally:
            app.stop()
            model.stop()
    for name, value in figures.items():
        print(f"{name}: {value}")
    for message, count in errors.most_common(5):
        print(f"  error x{count}: {message}")
    for problem in problems:
        print(f"  problem: {problem}")
    if args.results:
        results.append(
            "Soak: answers while documents come and go",
            f"one daphne process and one worker, embedded defaults, {DOCUMENTS} documents of "
            f"{PASSAGES_EACH} HaluEval passages uploaded 5 s in, one deleted mid-ingestion; "
            f"model server {TOKENS} tokens at {RATE:g}/s",
            results.table(["figure", "value"], list(figures.items())),
        )


if __name__ == "__main__":
    main()
