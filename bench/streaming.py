"""Streaming answers under load: this project beside a minimal reference app, in one run.

For each scenario, each app gets a fresh model server (bench/model_server.py)
and a fresh server process, alternating: the product (daphne, embedded
defaults, ChatOpenAI pointed at the model server, a small corpus so that every
question retrieves five passages, or with --corpus halueval 10,000 chunks of
HaluEval passages asked HaluEval's questions) and bench/reference_app.py (FastAPI +
sse-starlette + ChatOpenAI, no retrieval). Both are read the same way, with
httpx and httpx-sse.

Scenarios:
  ttft        questions one at a time: time the app adds before the first token
              (client's first token minus the model server's own first-token delay;
              the model streams 200 tokens/s, so the first token travels alone)
  tokens      one long answer at full speed: tokens/s and server CPU per 1,000 tokens
  cpu         500 short answers one after another: server CPU per question (what
              bounds how many questions a second one process can start), and the
              product's embedded graph store server's beside it
  c50, c300, c1000
              that many streams at once (ramped over 5 s), 20 tokens/s each: errors,
              exact text, time to first token, gaps between tokens beyond the model's
  disconnect  clients that leave mid-answer: how soon the app hangs up on the
              model server, and how many tokens it asks for after the client left
  relay300    300 streams of 20 tokens/s once all have started (no question
              arriving): server CPU per relayed token, what fills one process's
              event loop under many slow streams

Prints a table and, with --results, appends it to bench/RESULTS.md. With --rounds N each
scenario runs N times, the apps alternating, and each figure is its middle value: a ratio
under load swings from run to run on a shared machine.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/streaming.py [--scenarios ttft,c50] [--corpus halueval] \
        [--rounds 5] [--results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results  # noqa: E402
from tests.live import UNLIMITED, LiveApp, free_port  # noqa: E402

CORPUS = "\n\n".join(
    [
        "The peregrine falcon is the fastest bird in the world, diving at over 300 km/h.",
        "Peregrine falcons nest on cliff ledges and, in cities, on tall buildings.",
        "A peregrine falcon hunts other birds in flight, striking them from above.",
        "Peregrine falcon numbers fell sharply in the 1960s because of DDT.",
        "After DDT was banned, peregrine falcon populations recovered across Europe.",
        "Falconers have trained peregrine falcons to hunt for over a thousand years.",
        "The peregrine falcon lives on every continent except Antarctica.",
        "A peregrine falcon pair raises three or four chicks each spring.",
    ]
)
SERVER = os.environ.get("BENCH_SERVER", "daphne")  # the product's ASGI server
# The product's web processes: as the Procfile starts them (one per usable core) unless set.
PROCESSES = int(os.environ.get("BENCH_PROCESSES") or len(os.sched_getaffinity(0)))
QUESTION = "What do we know about the peregrine falcon? ({n})"
# --corpus halueval: each HaluEval passage in this many documents of the bench user
# (10,000 chunks), asked HaluEval's questions.
HALUEVAL_COPIES = 10
QUESTIONS: list[str] = []  # set by --corpus halueval
# First token: questions asked one after another, the first few (each process's
# first use of its code paths) not counted.
TTFT_WARM = 10
TTFT_ASKED = 100


def question(n: int) -> str:
    return QUESTIONS[n % len(QUESTIONS)] if QUESTIONS else QUESTION.format(n=n)


@dataclass
class Stream:
    sent: float
    first: float | None = None
    last: float | None = None
    gaps: list[float] = field(default_factory=list)
    text: str = ""
    done: bool = False
    error: str = ""
    left: float | None = None
    ended: dict = field(default_factory=dict)  # the done event's data


async def ask(
    client: httpx.AsyncClient, url: str, headers: dict, n: int, leave_after: int | None = None
) -> Stream:
    stream = Stream(sent=time.monotonic())
    body = {"query": question(n), "max_results": 5}
    try:
        # A copy: httpx-sse sets Accept: text/event-stream in the dict it is given.
        sse = aconnect_sse(client, "POST", url, json=body, headers=dict(headers))
        async with sse as source:
            if source.response.status_code != 200:
                stream.error = f"HTTP {source.response.status_code}"
                return stream
            async for event in source.aiter_sse():
                now = time.monotonic()
                if event.event == "token":
                    if stream.first is None:
                        stream.first = now
                    else:
                        stream.gaps.append(now - stream.last)
                    stream.last = now
                    stream.text += event.data
                    if leave_after is not None and stream.text.count(" ") >= leave_after:
                        stream.left = time.monotonic()
                        break
                elif event.event == "done":
                    stream.done = True
                    stream.ended = json.loads(event.data)
                elif event.event == "error":
                    stream.error = event.data
    except (httpx.HTTPError, OSError) as error:
        stream.error = type(error).__name__
    return stream


def expected(tokens: int) -> str:
    return "".join(f"t{i} " for i in range(tokens))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class ModelServer:
    def __init__(self, tokens: int, rate: float, folder: Path) -> None:
        self.port = free_port()
        self.log = folder / f"model-{self.port}.jsonl"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "model_server.py"),
                "--port",
                str(self.port),
                "--tokens",
                str(tokens),
                "--rate",
                str(rate),
                "--log",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                with httpx.Client() as probe:
                    probe.post(f"http://127.0.0.1:{self.port}/v1/chat/completions", json={})
                return
            except httpx.TransportError:
                time.sleep(0.05)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Product:
    name = "this project"

    def __init__(self, model: ModelServer, folder: Path) -> None:
        self.app = LiveApp(
            folder / "product",
            OPENAI_API_KEY="bench",
            OPENAI_MODEL="bench",
            OPENAI_BASE_URL=model.base_url,
            LOG_LEVEL="WARNING",
            **UNLIMITED,
        )
        self.app.data.mkdir()
        self.app.start(server=SERVER, processes=PROCESSES)
        self.app.create_user("bench", "bench-pass-123")
        if QUESTIONS:
            self.app.manage(
                "shell",
                "-c",
                f"from bench.retrieval_scale import seed; seed('bench', {HALUEVAL_COPIES})",
            )
        else:
            (self.app.data / "falcons.txt").write_text(CORPUS)
            self.app.manage("ingest", str(self.app.data / "falcons.txt"), "--owner", "bench")
        token = httpx.post(
            f"{self.app.url}/api/auth/token/",
            json={"username": "bench", "password": "bench-pass-123"},
        ).json()
        self.headers = {"Authorization": f"Bearer {token['access']}"}
        self.url = f"{self.app.url}/api/query/stream/"
        self.pid = self.app.processes[0].pid

    def retrieval_ms(self, ended: dict) -> float:
        """How long an answer's retrieval took, by its trace."""
        trace = httpx.get(
            f"{self.app.url}/api/conversations/{ended['conversation_id']}/messages/"
            f"{ended['message_id']}/trace/",
            headers={**self.headers, "Accept": "application/json"},
        ).json()
        return float(trace["timings_ms"]["retrieval"])

    def stop(self) -> None:
        self.app.stop()


class Reference:
    name = "FastAPI reference"

    def __init__(self, model: ModelServer, folder: Path) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.reference_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "OPENAI_BASE_URL": model.base_url},
        )
        self.url = f"http://127.0.0.1:{port}/api/query/stream/"
        self.headers: dict[str, str] = {}
        self.pid = self.process.pid
        self.retrieval_ms = lambda ended: 0.0  # it retrieves nothing
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)


def serving(pid: int) -> list[int]:
    """The processes that serve: the command's children when it started some."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(child) for child in path.read_text().split()] if path.exists() else []
    return children or [pid]


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """The serving processes' CPU time (all threads), or their main threads' (event loops')."""
    return sum(
        _cpu(f"/proc/{process}/task/{process}/stat" if main_thread else f"/proc/{process}/stat")
        for process in serving(pid)
    )


def store_cpu_seconds(app) -> float:
    """The CPU time of the graph store server the app started itself (the embedded
    FalkorDB server runs on its own, in the app's data folder); 0 for the reference."""
    if not isinstance(app, Product):
        return 0.0
    data = app.app.data
    used = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(data):
                    used += _cpu(entry / "stat")
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return used


def _cpu(stat: str | Path) -> float:
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The serving processes' resident memory, together."""
    total = 0
    for process in serving(pid):
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


async def many(app, count: int, ramp: float, leave_after: int | None = None) -> list[Stream]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(n: int) -> Stream:
            await asyncio.sleep(ramp * n / count)
            return await ask(client, app.url, app.headers, n, leave_after)

        return await asyncio.gather(*(one(n) for n in range(count)))


def scenario_ttft(app, model: ModelServer) -> dict[str, float]:
    async def run() -> list[Stream]:
        async with httpx.AsyncClient(timeout=60) as client:
            asked = range(TTFT_WARM + TTFT_ASKED)
            return [await ask(client, app.url, app.headers, n) for n in asked]

    streams = asyncio.run(run())
    by_request: dict[int, dict[str, float]] = {}
    for event in model.events():
        seen = by_request.setdefault(event["r"], {})
        if event["e"] == "request" and event.get("stream"):
            seen["request"] = event["t"]
        elif event["e"] == "token" and event["i"] == 0:
            seen["first"] = event["t"]
    delays = [
        s["first"] - s["request"]
        for _, s in sorted(by_request.items())
        if "first" in s and "request" in s
    ]
    added = [
        (s.first - s.sent - d) * 1000
        for s, d in zip(streams[TTFT_WARM:], delays[TTFT_WARM:], strict=False)
        if s.first is not None
    ]
    # Of the time added, what is not retrieval: the product's own trace of each
    # answer says how long its retrieval took (the reference does none).
    searched = [app.retrieval_ms(s.ended) for s in streams[TTFT_WARM:] if s.first is not None]
    return {
        "added ms p50": statistics.median(added),
        "added ms p99": percentile(added, 0.99),
        "retrieval ms p50": statistics.median(searched),
        "added ms p50 besides retrieval": statistics.median(
            [a - r for a, r in zip(added, searched, strict=False)]
        ),
        "errors": sum(bool(s.error) for s in streams),
    }


def scenario_tokens(app, model: ModelServer, tokens: int) -> dict[str, float]:
    asyncio.run(many(app, 1, 0))  # warm: first-use imports are not a per-token cost
    before = cpu_seconds(app.pid)
    stream = asyncio.run(many(app, 1, 0))[0]
    used = cpu_seconds(app.pid) - before
    elapsed = (stream.last or 0) - (stream.first or 0)
    return {
        "tokens/s": tokens / elapsed if elapsed else float("nan"),
        "CPU s per 1,000 tokens": used / tokens * 1000,
        "exact": float(stream.text == expected(tokens)),
    }


def scenario_cpu(app, model: ModelServer, count: int) -> dict[str, float]:
    asyncio.run(many(app, 5, 0))  # warm
    before = cpu_seconds(app.pid)
    before_loop = cpu_seconds(app.pid, main_thread=True)
    before_store = store_cpu_seconds(app)
    started = time.perf_counter()

    async def run() -> list[Stream]:
        async with httpx.AsyncClient(timeout=60) as client:
            return [await ask(client, app.url, app.headers, n) for n in range(count)]

    streams = asyncio.run(run())
    elapsed = time.perf_counter() - started
    return {
        "server CPU ms per question": (cpu_seconds(app.pid) - before) / count * 1000,
        "of it on the event loop": (cpu_seconds(app.pid, main_thread=True) - before_loop)
        / count
        * 1000,
        "graph store server CPU ms per question": (store_cpu_seconds(app) - before_store)
        / count
        * 1000,
        "wall ms per question": elapsed / count * 1000,
        "errors": sum(bool(s.error) for s in streams),
    }


def scenario_load(app, model: ModelServer, count: int, tokens: int, rate: float):
    streams = asyncio.run(many(app, count, ramp=5.0))
    good = [s for s in streams if s.done and not s.error and s.text == expected(tokens)]
    ttft = [(s.first - s.sent) * 1000 for s in streams if s.first]
    beyond = [max(0.0, gap - 1 / rate) * 1000 for s in streams for gap in s.gaps]
    return {
        "complete and exact": len(good),
        "errors": count - len(good),
        "ttft ms p50": statistics.median(ttft) if ttft else float("nan"),
        "ttft ms p99": percentile(ttft, 0.99),
        "gap beyond the model's, ms p99": percentile(beyond, 0.99),
        "server RSS MB": rss_mb(app.pid),
    }


def scenario_relay(app, model: ModelServer, count: int, rate: float) -> dict[str, float]:
    """CPU per token while `count` streams run and none is starting: from 2 s after
    the 5 s ramp, for 3 s (the model's answers last 12 s)."""
    measured: dict[str, float] = {}

    async def run() -> list[Stream]:
        async def measure() -> None:
            await asyncio.sleep(7.0)
            process, loop = cpu_seconds(app.pid), cpu_seconds(app.pid, main_thread=True)
            started = time.monotonic()
            await asyncio.sleep(3.0)
            seconds = time.monotonic() - started
            measured["process"] = (cpu_seconds(app.pid) - process) / seconds
            measured["loop"] = (cpu_seconds(app.pid, main_thread=True) - loop) / seconds

        streams, _ = await asyncio.gather(many(app, count, ramp=5.0), measure())
        return streams

    streams = asyncio.run(run())
    tokens_per_second = count * rate
    return {
        "errors": sum(bool(s.error) or not s.done for s in streams),
        "server CPU µs per token": measured["process"] / tokens_per_second * 1e6,
        "of it on the event loop": measured["loop"] / tokens_per_second * 1e6,
        "event loop busy, % of a core": measured["loop"] * 100,
    }


def scenario_disconnect(app, model: ModelServer, count: int, leave_after: int):
    streams = asyncio.run(many(app, count, ramp=2.0, leave_after=leave_after))
    closed: dict[int, float] = {}
    tokens: dict[int, list[float]] = {}
    request_of: dict[int, int] = {}  # question number -> the model request it made
    for event in model.events():
        if event["e"] == "request" and event.get("q") is not None:
            request_of.setdefault(event["q"], event["r"])
        elif event["e"] in ("hung up", "closed"):
            closed.setdefault(event["r"], event["t"])
        elif event["e"] == "token":
            tokens.setdefault(event["r"], []).append(event["t"])
    lags, extra = [], []
    for n, stream in enumerate(streams):
        request = request_of.get(n)
        if not stream.left or request is None:
            continue
        if request in closed:
            lags.append((closed[request] - stream.left) * 1000)
        extra.append(sum(t > stream.left for t in tokens.get(request, [])))
    return {
        "left": sum(bool(s.left) for s in streams),
        "errors": sum(bool(s.error) for s in streams),
        "upstream closed ms p50": statistics.median(lags) if lags else float("nan"),
        "upstream closed ms p99": percentile(lags, 0.99),
        "tokens after leaving, max": max(extra) if extra else float("nan"),
    }


SCENARIOS = {
    "ttft": (40, 200, lambda app, model: scenario_ttft(app, model)),
    "tokens": (2000, 0, lambda app, model: scenario_tokens(app, model, 2000)),
    "cpu": (1, 0, lambda app, model: scenario_cpu(app, model, 500)),
    "c50": (40, 20, lambda app, model: scenario_load(app, model, 50, 40, 20)),
    "c300": (40, 20, lambda app, model: scenario_load(app, model, 300, 40, 20)),
    "c1000": (40, 20, lambda app, model: scenario_load(app, model, 1000, 40, 20)),
    "disconnect": (200, 20, lambda app, model: scenario_disconnect(app, model, 200, 10)),
    "relay300": (240, 20, lambda app, model: scenario_relay(app, model, 300, 20)),
}


def profile(app, folder: Path, name: str) -> subprocess.Popen:
    """py-spy sampling the app's server while a scenario runs: collapsed stacks per scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(app.pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",  # sampling without pausing the server: it keeps its pace
            "--subprocesses",  # every web process the command started
            "--output",
            str(folder / f"{name}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached before the load starts
    return spy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="ttft,tokens,c50,c300,disconnect")
    parser.add_argument("--results", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument(
        "--profile", type=Path, help="record the product's server with py-spy into this folder"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each scenario this many times, the apps alternating; middle values",
    )
    parser.add_argument(
        "--corpus",
        choices=("falcons", "halueval"),
        default="falcons",
        help="the product's documents: 8 short passages, or 10,000 chunks of HaluEval passages",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.corpus == "halueval":
        from bench.retrieval_scale import load

        QUESTIONS.extend(row["question"] for row in load())
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as folder:
        for name in args.scenarios.split(","):
            tokens, rate, run = SCENARIOS[name]
            rounds: list[dict[str, dict[str, float]]] = []
            for n in range(args.rounds):
                figures = {}
                for kind in (Reference, Product):
                    model = ModelServer(tokens, rate, Path(folder))
                    app = kind(model, Path(tempfile.mkdtemp(dir=folder)))
                    recorded = args.profile and kind is Product and n == 0
                    spy = profile(app, args.profile, name) if recorded else None
                    try:
                        figures[kind.name] = run(app, model)
                    finally:
                        if spy is not None:
                            spy.send_signal(signal.SIGINT)
                            spy.wait(60)
                        app.stop()
                        model.stop()
                    print(name, n + 1, kind.name, figures[kind.name], flush=True)
                rounds.append(figures)
            rows += [Row.of(name, figure, rounds) for figure in rounds[0][Reference.name]]
    text = table(rows, args.rounds)
    print(text)
    if args.results:
        server = f"{SERVER}, {PROCESSES} process{'es' if PROCESSES > 1 else ''}"
        corpus = (
            f"{HALUEVAL_COPIES * 1000:,} chunks of HaluEval passages, HaluEval's questions"
            if QUESTIONS
            else "8 short passages"
        )
        rounds = f"; {args.rounds} rounds, middle values" if args.rounds > 1 else ""
        results.append("Streaming under load", f"the product on {server}; {corpus}{rounds}", text)


@dataclass(frozen=True)
class Row:
    """One figure of one scenario: each app's middle value over the rounds, and the
    ratio of each round (the two apps ran one after the other in it)."""

    scenario: str
    figure: str
    reference: float
    ours: float
    ratios: list[float]

    @classmethod
    def of(cls, scenario: str, figure: str, rounds: list[dict[str, dict[str, float]]]) -> Row:
        reference = [r[Reference.name][figure] for r in rounds]
        ours = [r[Product.name][figure] for r in rounds]
        return cls(
            scenario,
            figure,
            statistics.median(reference),
            statistics.median(ours),
            [b / a if a else float("nan") for a, b in zip(reference, ours, strict=True)],
        )


def table(rows: list[Row], rounds: int) -> str:
    """The results as a Markdown table; with several rounds, the ratio is the middle
    of the rounds' ratios, and their range follows."""
    spread = " ratio in each round |" if rounds > 1 else ""
    lines = [
        f"| scenario | figure | FastAPI reference | this project | ratio |{spread}",
        "|---|---|---|---|---|" + ("---|" if rounds > 1 else ""),
    ]
    for row in rows:
        each = " " + ", ".join(f"{r:.2f}" for r in row.ratios) + " |" if rounds > 1 else ""
        lines.append(
            f"| {row.scenario} | {row.figure} | {row.reference:.3g} | {row.ours:.3g} "
            f"| {statistics.median(row.ratios):.2f} |{each}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
