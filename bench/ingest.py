"""Ingestion throughput on the embedded defaults.

Builds a corpus of PDFs from the public HaluEval passages in ../shared/data
(or BENCH_DATA; real Wikipedia text, about 30 passages a page), ingests it through the same
service the worker uses, and prints pages/s, chunks/s, the time spent in each
stage and the peak memory of the process; with --results appends the figures to
bench/RESULTS.md.

    .venv/bin/python bench/ingest.py [--documents 10] [--pages 30] [--bench-data DIR] [--results]
"""

from __future__ import annotations

import argparse
import atexit
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
# The benchmarks' data sets (the HaluEval dev set, dossier-bench cases) are too big
# for the repository: they live beside it, or wherever BENCH_DATA (--bench-data) says.
SHARED_DATA = ROOT.parent / "shared" / "data"


def bench_data() -> Path:
    """The folder that holds the data sets: halueval_dev/, dossier_kite_launch/."""
    return Path(os.environ.get("BENCH_DATA") or SHARED_DATA).absolute()


def dataset() -> Path:
    """The HaluEval dev set (one JSON row a line: knowledge, question, right_answer)."""
    return bench_data() / "halueval_dev" / "halueval_dev.jsonl"


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """A benchmark's arguments, --bench-data among them (it sets BENCH_DATA)."""
    parser.add_argument(
        "--bench-data",
        type=Path,
        metavar="DIR",
        help="the folder of the data sets, holding halueval_dev/ and dossier_kite_launch/ "
        "(default: BENCH_DATA, else ../shared/data beside the repository)",
    )
    args = parser.parse_args()
    if args.bench_data is not None:
        os.environ["BENCH_DATA"] = str(args.bench_data)
    return args


def missing_data(sentence: str) -> NoReturn:
    """Stop with one sentence saying what is missing where (no traceback), status 2."""
    print(sentence, file=sys.stderr)
    raise SystemExit(2)


def require_dataset() -> Path:
    """The HaluEval dev set's path; it lives beside the repository, not in it: when it is
    missing, say where it was looked for and how to point elsewhere."""
    path = dataset()
    if not path.is_file():
        missing_data(
            f"No HaluEval dev set ({path.name}) in {path.parent}: point --bench-data DIR "
            "or BENCH_DATA at the folder that holds halueval_dev/."
        )
    return path


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ragsite.settings")
    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.path.insert(0, str(ROOT))
    from tests.live import UNLIMITED

    # One account asks as many people would, run after run: no per-person limits.
    for name, value in UNLIMITED.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The embedded graph store server would outlive the benchmark otherwise.
    atexit.register(call_command, "stop_graph_store", verbosity=0)


def passages() -> list[str]:
    with dataset().open() as handle:
        return [json.loads(line)["knowledge"] for line in handle]


def build_pdf(texts: list[str], pages: int) -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.set_auto_page_break(False)
    document.set_font("helvetica", size=9)
    per_page = max(1, len(texts) // pages)
    for page in range(pages):
        document.add_page()
        body = "\n\n".join(texts[page * per_page : (page + 1) * per_page])
        body = body.encode("latin-1", "replace").decode("latin-1")
        document.multi_cell(0, 4, body[:4200])
    return bytes(document.output())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--pages", type=int, default=30, help="pages per document")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    args = parse_args(parser)
    require_dataset()

    setup_django(tempfile.mkdtemp(prefix="bench-ingest-"))
    from django.contrib.auth import get_user_model

    from retrieval import documents, embeddings, ingestion
    from retrieval.models import Document

    texts = passages()
    per_doc = len(texts) // args.documents
    files = [
        build_pdf(texts[i * per_doc : (i + 1) * per_doc], args.pages) for i in range(args.documents)
    ]
    owner = get_user_model().objects.create_user("bench")

    started = time.perf_counter()
    embeddings.warm_up(documents=True)
    load_seconds = time.perf_counter() - started

    stages = {"parsing": 0.0, "embedding": 0.0, "indexing": 0.0}
    pages = chunks = 0
    total_started = time.perf_counter()
    for number, data in enumerate(files):
        document = documents.create_document(
            owner, io.BytesIO(data), f"corpus-{number}.pdf", enqueue=False
        )
        marks = {"start": time.perf_counter()}

        def progress(stage: str, done: int, total: int, marks: dict = marks) -> None:
            marks.setdefault(stage, time.perf_counter())

        status = ingestion.ingest_document(document.pk, on_progress=progress)
        marks["end"] = time.perf_counter()
        document = Document.objects.get(pk=document.pk)
        if status != "ready":
            raise SystemExit(f"corpus-{number}.pdf failed: {document.error}")
        stages["parsing"] += marks["embedding"] - marks["start"]
        stages["embedding"] += marks["indexing"] - marks["embedding"]
        stages["indexing"] += marks["end"] - marks["indexing"]
        pages += document.pages or 0
        chunks += document.chunk_count
    seconds = time.perf_counter() - total_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    figures = {
        "documents": len(files),
        "pages": pages,
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages / seconds, 2),
        "chunks_per_s": round(chunks / seconds, 2),
        "model_load_s": round(load_seconds, 2),
        "parsing_s": round(stages["parsing"], 2),
        "embedding_s": round(stages["embedding"], 2),
        "indexing_s": round(stages["indexing"], 2),
        "peak_rss_mb": round(peak_mb),
    }
    for key, value in figures.items():
        print(f"{key:>14}: {value}")
    if args.results:
        write_results(figures)


def write_results(figures: dict) -> None:
    from bench import results

    results.append(
        "Ingestion",
        "Embedded defaults: FalkorDB (falkordblite), local all-MiniLM-L6-v2 on the CPU, "
        "CHUNK_SIZE 1000 / CHUNK_OVERLAP 150. Corpus: PDFs built from the HaluEval dev passages.",
        results.table(list(figures), [list(figures.values())]),
    )


if __name__ == "__main__":
    main()
