"""The quality benchmark finds its data sets, or says in one sentence where it looked.

The data sets live beside the repository (../shared/data), not in it, so a
fresh clone has none of them: bench/quality.py must say so plainly and stop,
without a traceback and without touching bench/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import dossier
from bench.results import RESULTS
from tests.live import ROOT


def run_quality(*args: str, bench_data: Path | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "BENCH_DATA"}
    if bench_data is not None:
        env["BENCH_DATA"] = str(bench_data)
    return subprocess.run(
        [sys.executable, "bench/quality.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("pointed_by", ["option", "environment"])
def test_without_the_halueval_set_it_says_where_it_looked_and_stops_with_status_2(
    tmp_path, pointed_by
):
    nowhere = tmp_path / "nowhere"
    before = RESULTS.read_bytes() if RESULTS.exists() else None

    if pointed_by == "option":
        done = run_quality("--bench-data", str(nowhere), "--results")
    else:
        done = run_quality("--results", bench_data=nowhere)

    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    [sentence] = done.stderr.splitlines()
    assert str(nowhere / "halueval_dev") in sentence
    assert "--bench-data" in sentence and "BENCH_DATA" in sentence
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == before


def test_without_a_dossier_case_it_says_where_it_looked_and_stops_with_status_2(tmp_path):
    done = run_quality("--dossier", "--case", str(tmp_path / "no-case"), "--results")

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [sentence] = done.stderr.splitlines()
    assert str(tmp_path / "no-case") in sentence and "--case" in sentence


def test_the_dossier_case_is_the_shared_one_else_the_copy_kept_in_the_repository(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    assert dossier.default_case() == dossier.KEPT_CASE
    assert (dossier.KEPT_CASE / "docs").is_dir()

    (tmp_path / "dossier_kite_launch" / "docs").mkdir(parents=True)
    assert dossier.default_case() == tmp_path / "dossier_kite_launch"
