"""Appending figures to bench/RESULTS.md, each under a header saying when and where."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def append(title: str, setup: str, text: str) -> None:
    """`## title (date, machine)`, the command that ran with what it ran on, then `text`."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    script = Path(sys.argv[0]).resolve().relative_to(RESULTS.parent.parent, walk_up=True)
    command = " ".join([script.as_posix(), *sys.argv[1:]])
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nFigures appended by the scripts in bench/.\n")
    with RESULTS.open("a") as handle:
        handle.write(f"\n## {title} ({when}, {machine})\n\n`{command}`: {setup}\n\n{text}\n")
