"""The test settings' throw-away data folder: one per run, gone when the run ends.

Each case reads the settings in a fresh process, with a temporary directory of
its own, as a test run (or a process a test starts) does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Read the settings and use the data folder as a test run does, then say where it was.
RUN = """
import django
from django.conf import settings
django.setup()
(settings.DATA_DIR / "written-by-a-test").write_text("x")
print(settings.DATA_DIR)
"""


def run_settings(tmp_path: Path, **environment: str) -> tuple[Path, Path]:
    temp = tmp_path / "temp"
    temp.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    done = subprocess.run(
        [sys.executable, "-c", RUN],
        cwd=ROOT,
        env={
            **keep,
            "TMPDIR": str(temp),
            "HF_HUB_OFFLINE": "1",
            "DJANGO_SETTINGS_MODULE": "ragsite.test_settings",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1]), temp


def test_a_run_removes_the_data_folder_it_made(tmp_path):
    used, temp = run_settings(tmp_path)

    assert used.parent == temp and used.name.startswith("ragsite-test-")
    assert not used.exists()
    assert list(temp.iterdir()) == []


def test_a_process_given_a_data_folder_makes_none_and_leaves_its_folder(tmp_path):
    given = tmp_path / "given"
    given.mkdir()

    used, temp = run_settings(tmp_path, DATA_DIR=str(given))

    assert used == given and (given / "written-by-a-test").exists()
    assert list(temp.iterdir()) == []
