"""A long fuzz run of the whole REST API from its OpenAPI schema (schemathesis).

The same test as the suite's short run (ragsite/tests/test_api_fuzz.py: a real
daphne server, every operation, signed in and anonymous, requests that fit the
schema and requests that do not), with many more requests per operation. A 5xx,
or a 4xx without the API's JSON error and a readable sentence, fails it.

Prints what was answered and, with --results, appends it to bench/RESULTS.md.

    .venv/bin/python bench/fuzz.py [--examples 500] [--results]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import append, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="requests per operation and mode")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as folder:
        report = Path(folder) / "statuses.json"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "ragsite/tests/test_api_fuzz.py"],
            cwd=ROOT,
            env={
                **os.environ,
                "FUZZ_EXAMPLES": str(args.examples),
                "FUZZ_REPORT": str(report),
                "HF_HUB_OFFLINE": "1",
            },
        )  # fmt: skip
        seconds = time.monotonic() - started
        statuses = json.loads(report.read_text()) if report.exists() else {}
    rows = sorted((key, count) for key, count in statuses.items())
    requests = sum(statuses.values())
    errors = sum(count for key, count in statuses.items() if key.split()[-1].startswith("5"))
    verdict = "passed" if run.returncode == 0 else "FAILED (see the test output above)"
    summary = f"{requests:,} requests in {seconds:.0f} s, {errors} answered 5xx"
    text = f"{summary}; every check {verdict}.\n\n" + table(["who, status", "responses"], rows)
    print(text)
    if args.results:
        append(
            "API fuzz run",
            f"schemathesis, {args.examples} requests per operation, mode and caller "
            "(signed in, anonymous; fitting and not fitting the schema), one daphne process",
            text,
        )
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
