"""Where a question's time goes, step by step, read from the answers' own traces.

bench/streaming.py says how long the product takes before the first token; this
says where: it runs the product as streaming.py does (daphne, the embedded
defaults, a local OpenAI-protocol model server), asks questions one at a time
(or `--streams N` at once, ramped over 5 s), then reads each answer's trace
(GET /api/conversations/{id}/messages/{mid}/trace/: the time of each step and
the moments since the question arrived) and prints p50 and max per step.
Under load, "passages found" minus "retrieval" is the wait for a turn to be
prepared (queries/admission.py).

    .venv/bin/python bench/steps.py [--streams 300] [--results]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results as bench_results  # noqa: E402
from bench.streaming import SCENARIOS, ModelServer, Product, ask, many  # noqa: E402

ONE_AT_A_TIME = 40
TRACES_READ = 60


def traces(app: Product, count: int) -> list[dict]:
    """The traces of up to `count` of the bench user's answers, spread over all of them."""
    headers = {"Authorization": app.headers["Authorization"]}
    base = app.app.url
    conversations: list[dict] = []
    url: str | None = f"{base}/api/conversations/?page_size=100"
    with httpx.Client(headers=headers, timeout=60) as client:
        while url:
            page = client.get(url).json()
            conversations += page["results"]
            url = page.get("next")
        found = []
        for conversation in conversations[:: max(1, len(conversations) // count)][:count]:
            messages = client.get(f"{base}/api/conversations/{conversation['id']}/").json()
            reply = next(m for m in messages["messages"] if m["role"] == "assistant")
            path = f"{base}/api/conversations/{conversation['id']}/messages/{reply['id']}/trace/"
            found.append(client.get(path).json())
    return found


def by_step(found: list[dict]) -> list[tuple[str, int, float, float]]:
    """(step, answers that had it, p50 ms, max ms): steps first, then the moments ("@")."""
    values: dict[str, list[float]] = {}
    for trace in found:
        for name, ms in trace["timings_ms"].items():
            values.setdefault(name, []).append(ms)
        for name, ms in trace["since_question_ms"].items():
            values.setdefault(f"@ {name}", []).append(ms)
    return [
        (name, len(ms), statistics.median(ms), max(ms))
        for name, ms in sorted(values.items(), key=lambda item: item[0].startswith("@"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, help="this many questions at once (default: one)")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as folder:
        # The model server of streaming.py's scenario of the same shape.
        tokens, rate, _ = SCENARIOS["c300" if args.streams else "ttft"]
        model = ModelServer(tokens, rate, Path(folder))
        app = Product(model, Path(folder))
        try:
            if args.streams:
                streams = asyncio.run(many(app, args.streams, 5.0))
            else:

                async def one_at_a_time() -> list:
                    async with httpx.AsyncClient(timeout=60) as client:
                        return [
                            await ask(client, app.url, app.headers, n) for n in range(ONE_AT_A_TIME)
                        ]

                streams = asyncio.run(one_at_a_time())
            errors = sum(bool(stream.error) for stream in streams)
            rows = by_step(traces(app, TRACES_READ))
        finally:
            app.stop()
            model.stop()
    how = f"{args.streams} streams at once" if args.streams else "one question at a time"
    text = bench_results.table(
        ["step (@: moment since the question arrived)", "answers", "p50 ms", "max ms"],
        [(name, n, f"{p50:.1f}", f"{top:.1f}") for name, n, p50, top in rows],
    )
    text += f"\n\n{len(streams)} questions, {errors} errors."
    print(text)
    if args.results:
        bench_results.append(
            f"Where a question's time goes, {how}",
            "the product on daphne with the embedded defaults and a local model server; each "
            "step's time from the answers' own traces.",
            text,
        )


if __name__ == "__main__":
    main()
