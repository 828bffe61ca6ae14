"""Many people watching: the cost of open job streams, how fast a change reaches them, and the
API's latency while they are open during a search.

    .venv/bin/python bench/streams.py [--streams N] [--idle-s S] [--modes embedded,distributed]
                                      [--load-rounds R] [--data DIR]

For each mode (embedded: `blastdeck serve` on SQLite; distributed: `serve` + one `blastdeck
worker --concurrency 1` on PostgreSQL + Redis):
1. idle    - a slow job takes the only job slot and its BLAST processes are stopped (SIGSTOP),
             so nothing changes (the run lease is still renewed); the server's CPU is measured
             for S s with no stream, then with N streams open on that job.
             Target: N = 1,000 streams cost <= 10% of a core (server CPU above the no-stream
             figure).
2. change  - BLAST is resumed (SIGCONT): each batch that ends is a change made by the process
             running the job (embedded: a pipeline thread of the server; distributed: the
             worker, announced by PostgreSQL NOTIFY). For every change, the time from the job's
             `updated_at` (stamped by the writer) to its arrival on each of the N streams
             (that state, or a later one that superseded it before the stream wrote it: a
             stream sends the latest state). Target: every change reaches all N within 0.5 s.
             Every stream must end with the job.
3. load    - a 50-query search of the 16S bench data (n3000-s7) runs while 20 pollers each GET
             /api/jobs/{id} and /api/jobs once a second (the page's fastest cadence), first
             with no stream open (the reference: what the search alone costs the API), then
             with 200 streams watching it. Target: p99 of the pollers' requests <= 300 ms
             with the streams open; the ratio to the reference is what the streams cost.

Streams are raw HTTP/1.1 connections held by client processes of their own (2 for the N
streams, 1 for the 200 of the load phase, apart from the pollers), so reading them neither
delays the pollers' timings nor adds up in one loop. Arrival times are the client's, so they
include its own delay on a busy host: an upper bound on the server's.
Only 127.0.0.1 is contacted; every process, the PostgreSQL database
and the Redis keys made here are removed at the end. Results: bench/results/streams.json.
Exit status: 0 every target met, 1 otherwise, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import distributed
import httpx
from _common import (
    BENCH_DIR,
    REPO,
    TERMINAL,
    BenchError,
    Server,
    descendants,
    environment,
    fasta_records,
    median,
    nearest_rank,
    shown_path,
    write_json,
)

RESULTS = BENCH_DIR / "results" / "streams.json"
DEMO_FASTA = REPO / "blastdeck" / "demo" / "demo-16s.fa"
BENCH_DATA = Path("/work/bench-data/n3000-s7")
SLOW_OPTIONS = {"task": "blastn", "word_size": 4}  # tests/conftest.py: ~6 CPU-s on 24 queries
STREAMS = 1000
IDLE_S = 20.0
LOAD_STREAMS, LOAD_POLLERS, LOAD_POLL_S = 200, 20, 1.0
TARGET_IDLE_CORE = 0.10
TARGET_REACH_S = 0.5
TARGET_P99_MS = 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_PROCESSES = 2  # the N streams of the idle and change phases, split between them


def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def blast_pids(roots: list[int]) -> list[int]:
    found = []
    for root in roots:
        for pid in descendants(root):
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if name.startswith(("blastn", "blastp", "blastx", "tblast")):
                found.append(pid)
    return found


def signal_blast(roots: list[int], sig: int) -> int:
    pids = blast_pids(roots)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
    return len(pids)


# -- the streams -------------------------------------------------------------------------------


class Stream:
    """One raw SSE connection: every `job` frame's (updated_at, phase, arrival wall time)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, float]] = []
        self.ended = False
        self.opened = asyncio.Event()

    async def run(self, port: int, job_id: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET /api/jobs/{job_id}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        writer.write(request.encode())
        buffer = b""
        try:
            while not self.ended:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                arrived = time.time()
                buffer += chunk
                while True:
                    start = buffer.find(b"event: ")
                    end = buffer.find(b"\n\n", start)
                    if start < 0 or end < 0:
                        break
                    self.on_frame(buffer[start:end].decode(), arrived)
                    buffer = buffer[end + 2 :]
        finally:
            writer.close()

    def on_frame(self, frame: str, arrived: float) -> None:
        name, _, data = frame.partition("\ndata: ")
        name = name.removeprefix("event: ")
        if name == "job":
            job = json.loads(data)
            self.frames.append((job["updated_at"], job["phase"], arrived))
            self.opened.set()
            self.ended = job["poll_after_ms"] is None
        elif name == "gone":
            self.ended = True


async def open_streams(port: int, job_id: str, count: int) -> tuple[list[Stream], list]:
    streams = [Stream() for _ in range(count)]
    tasks = []
    for i, stream in enumerate(streams):
        tasks.append(asyncio.create_task(stream.run(port, job_id)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # connect in waves, as tabs open
    await asyncio.wait_for(asyncio.gather(*(s.opened.wait() for s in streams)), 120)
    return streams, tasks


def _streams_process(port: int, job_id: str, count: int, ready: Any, results: Any) -> None:
    """A client process holding `count` streams until they end; sends back their frames."""

    async def main() -> list[tuple[list, bool]]:
        streams, tasks = await open_streams(port, job_id, count)
        ready.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 1800)
        return [(s.frames, s.ended) for s in streams]

    results.send(asyncio.run(main()))


class StreamClients:
    """`count` streams on one job, held by `processes` client processes of their own, so that
    reading them does not delay the bench's other requests (or each other) in one loop."""

    def __init__(self, port: int, job_id: str, count: int, processes: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self._children = []
        for i in range(processes):
            share = count // processes + (1 if i < count % processes else 0)
            ready, (receive, send) = ctx.Event(), ctx.Pipe(duplex=False)
            child = ctx.Process(target=_streams_process, args=(port, job_id, share, ready, send))
            child.start()
            self._children.append((child, ready, receive))

    def wait_open(self, timeout_s: float = 180) -> None:
        for child, ready, _ in self._children:
            if not ready.wait(timeout_s):
                raise BenchError(f"streams of client process {child.pid} did not open")

    def results(self, timeout_s: float = 1800) -> list[tuple[list, bool]]:
        """Every stream's (frames, ended), once all have ended with the job."""
        found = []
        for child, _, receive in self._children:
            if not receive.poll(timeout_s):
                raise BenchError(f"streams of client process {child.pid} did not end")
            found.extend(receive.recv())
            child.join(10)
        return found

    def kill(self) -> None:
        for child, _, _ in self._children:
            if child.is_alive():
                child.kill()


def reach_table(streams: list[tuple[list, bool]]) -> list[dict[str, Any]]:
    """Per change after the first frame: when it reached the first, median and last stream.
    A stream has a change once it shows that state or a later one: a stream sends the latest
    state, so one superseded within milliseconds (a batch's progress, then the next step) is
    skipped by the streams still writing the one before, which show the next one instead.
    `streams_with_this_state` counts those that showed this very state."""
    phases: dict[float, tuple[str, str]] = {}
    timed = []
    for frames, _ in streams:
        seen = [(datetime.fromisoformat(u).timestamp(), arrived) for u, _, arrived in frames[1:]]
        timed.append(seen)
        for updated_at, phase, _ in frames[1:]:
            phases[datetime.fromisoformat(updated_at).timestamp()] = (updated_at, phase)
    rows = []
    for changed in sorted(phases):
        delays, exact = [], 0
        for seen in timed:
            later = [(arrived, version) for version, arrived in seen if version >= changed]
            if later:
                arrived, version = min(later)
                delays.append(arrived - changed)
                exact += version == changed
        updated_at, phase = phases[changed]
        rows.append(
            {
                "updated_at": updated_at,
                "phase": phase,
                "streams_reached": len(delays),
                "streams_with_this_state": exact,
                "first_s": round(min(delays), 3),
                "median_s": round(median(delays), 3),
                "last_s": round(max(delays), 3),
            }
        )
    return rows


# -- one deployment ----------------------------------------------------------------------------


def submit(server: Server, query: str, database: str, options: dict[str, Any]) -> str:
    body = {"program": "blastn", "database": database, "query": query, "options": options}
    return server.request("POST", "/api/jobs", json=body).json()["id"]


def wait_phase(server: Server, job_id: str, phases: set[str], timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        phase = server.request("GET", f"/api/jobs/{job_id}").json()["phase"]
        if phase in phases:
            return phase
        time.sleep(0.1)
    raise BenchError(f"job {job_id} never reached {phases}")


def measure_idle_and_change(
    server: Server, roots: list[int], streams_n: int, idle_s: float
) -> dict[str, Any]:
    queries = "".join(fasta_records(DEMO_FASTA, 24))
    slow = submit(server, queries, "demo-16s", SLOW_OPTIONS)
    wait_phase(server, slow, {"running"})
    deadline = time.monotonic() + 60
    while not signal_blast(roots, signal.SIGSTOP):
        if time.monotonic() > deadline:
            raise BenchError("no BLAST process to stop")
        time.sleep(0.05)
    time.sleep(1.0)  # let in-flight writes settle
    signal_blast(roots, signal.SIGSTOP)  # and any BLAST started meanwhile
    out: dict[str, Any] = {"streams": streams_n, "idle_s": idle_s}
    before = process_cpu_s(server.pid)
    time.sleep(idle_s)
    out["server_core_no_streams"] = round((process_cpu_s(server.pid) - before) / idle_s, 4)

    clients = StreamClients(server.port, slow, streams_n, CLIENT_PROCESSES)
    try:
        opened_at = time.monotonic()
        clients.wait_open()
        out["open_all_s"] = round(time.monotonic() - opened_at, 2)
        time.sleep(2.0)  # the opening burst is over
        before, idle_from = process_cpu_s(server.pid), time.time()
        time.sleep(idle_s)
        used, idle_to = process_cpu_s(server.pid) - before, time.time()
        out["server_core_with_streams"] = round(used / idle_s, 4)
        out["loadavg_1min_before_change"] = round(os.getloadavg()[0], 2)
        signal_blast(roots, signal.SIGCONT)
        streams = clients.results()
    finally:
        signal_blast(roots, signal.SIGCONT)
        clients.kill()
    # Frames after the first (its connect) that arrived while nothing changed: none expected.
    out["frames_while_idle"] = sum(
        1 for frames, _ in streams for frame in frames[1:] if idle_from <= frame[2] <= idle_to
    )
    out["changes"] = reach_table(streams)
    out["streams_ended"] = sum(ended for _, ended in streams)
    out["final_phases"] = sorted({frames[-1][1] for frames, _ in streams})
    out["streams_cost_core"] = round(
        out["server_core_with_streams"] - out["server_core_no_streams"], 4
    )
    reach = [row["last_s"] for row in out["changes"] if row["streams_reached"] == streams_n]
    out["reach_all_max_s"] = max(reach) if reach else None
    out["reach_all_median_s"] = round(median(reach), 3) if reach else None
    return out


def measure_load(server: Server, database: str, streams_n: int) -> dict[str, Any]:
    queries = "".join(fasta_records(BENCH_DATA / "queries-16s-50.fa", 50))
    job_id = submit(server, queries, database, {})
    wait_phase(server, job_id, {"running"})
    latencies: list[float] = []
    errors: list[str] = []

    async def poller(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for path in (f"/api/jobs/{job_id}", "/api/jobs?limit=20"):
                started = time.monotonic()
                try:
                    response = await client.get(path)
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                latencies.append((time.monotonic() - started) * 1000)
            await asyncio.sleep(LOAD_POLL_S)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=LOAD_POLLERS * 2)
        async with httpx.AsyncClient(
            base_url=server.url, timeout=60, limits=limits, trust_env=False
        ) as client:
            pollers = [asyncio.create_task(poller(client, stop)) for _ in range(LOAD_POLLERS)]
            started = time.monotonic()
            await asyncio.to_thread(wait_phase, server, job_id, TERMINAL, 900)
            stop.set()
            await asyncio.gather(*pollers)
        return {"search_s_under_load": round(time.monotonic() - started, 1)}

    clients = StreamClients(server.port, job_id, streams_n, 1) if streams_n else None
    try:
        if clients is not None:
            clients.wait_open()
        out = asyncio.run(run())
        streams = clients.results() if clients is not None else []
    finally:
        if clients is not None:
            clients.kill()
    out["streams_ended"] = sum(ended for _, ended in streams)
    job = server.request("GET", f"/api/jobs/{job_id}").json()
    out.update(
        {
            "job_phase": job["phase"],
            "loadavg_1min_end": round(os.getloadavg()[0], 2),
            "streams": streams_n,
            "pollers": LOAD_POLLERS,
            "poll_interval_s": LOAD_POLL_S,
            "requests": len(latencies),
            "errors": errors[:10],
            "p50_ms": round(nearest_rank(latencies, 0.5), 1),
            "p95_ms": round(nearest_rank(latencies, 0.95), 1),
            "p99_ms": round(nearest_rank(latencies, 0.99), 1),
            "max_ms": round(max(latencies), 1),
        }
    )
    return out


def run_mode(mode: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        cleanup: dict[str, Any] = {}
        distributed.WORKER_PROCESSES = 1
        distributed.WORKER_CONCURRENCY = 1  # one job slot: a second job stays queued
        if mode == "embedded":
            server = Server(work, "embedded", {"BLASTDECK_WORKERS": "1"})
            stack.callback(server.stop, group=True)
            print(f"embedded: blastdeck serve on {server.url} ...", flush=True)
            server.start()
            roots = [server.pid]
        else:
            dep = distributed.start_distributed(work, stack, cleanup)
            server = dep.server
            roots = [server.pid, *(w.pid for w in dep.workers)]
        health = server.health()
        database = f"bench-{BENCH_DATA.name}"
        server.register(database, BENCH_DATA / "16s-3000")
        print(f"{mode}: idle and change with {args.streams} streams ...", flush=True)
        result: dict[str, Any] = {"database": health.get("database")}
        result["idle_and_change"] = measure_idle_and_change(
            server, roots, args.streams, args.idle_s
        )
        rounds = []
        for round_no in range(args.load_rounds):  # interleaved: reference, streams, ...
            for streams_n in (0, LOAD_STREAMS):
                print(
                    f"{mode}: round {round_no + 1}: {streams_n} streams + {LOAD_POLLERS} "
                    "pollers ...",
                    flush=True,
                )
                rounds.append(measure_load(server, database, streams_n))
        result["load_rounds"] = rounds
        with_streams = [r for r in rounds if r["streams"]]
        reference = [r for r in rounds if not r["streams"]]
        result["load"] = {
            "streams": LOAD_STREAMS,
            "streams_ended": min(r["streams_ended"] for r in with_streams),
            "errors": [e for r in rounds for e in r["errors"]],
            "p50_ms": median([r["p50_ms"] for r in with_streams]),
            "p99_ms": median([r["p99_ms"] for r in with_streams]),
            "reference_p50_ms": median([r["p50_ms"] for r in reference]),
            "reference_p99_ms": median([r["p99_ms"] for r in reference]),
            "requests": sum(r["requests"] for r in with_streams),
        }
        result["load"]["p99_ratio_to_reference"] = round(
            result["load"]["p99_ms"] / result["load"]["reference_p99_ms"], 2
        )
        result["cleanup"] = cleanup
        result["environment"] = environment(health)
        return result


def verdicts(mode: dict[str, Any], streams_n: int) -> dict[str, bool]:
    idle, load = mode["idle_and_change"], mode["load"]
    reached = all(row["streams_reached"] == streams_n for row in idle["changes"])
    return {
        "idle_cost_le_10pct_core": idle["streams_cost_core"] <= TARGET_IDLE_CORE,
        "change_reaches_all_le_0_5s": reached
        and idle["reach_all_max_s"] is not None
        and idle["reach_all_max_s"] <= TARGET_REACH_S,
        "all_streams_ended": idle["streams_ended"] == streams_n
        and load["streams_ended"] == LOAD_STREAMS,
        "load_p99_le_300ms": load["p99_ms"] <= TARGET_P99_MS and not load["errors"],
    }


def main(argv: list[str] | None = None) -> int:
    global BENCH_DATA  # --data may point elsewhere
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=STREAMS)
    parser.add_argument("--idle-s", type=float, default=IDLE_S)
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument("--load-rounds", type=int, default=2)
    parser.add_argument(
        "--data", type=Path, help=f"a bench data root holding {BENCH_DATA.name}/ (else its parent)"
    )
    args = parser.parse_args(argv)
    if args.data is not None and (args.data / BENCH_DATA.name).is_dir():
        BENCH_DATA = args.data / BENCH_DATA.name
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams)), hard))
    if not (BENCH_DATA / "16s-3000.nin").exists():
        print(f"bench data missing: {BENCH_DATA}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {
        "targets": {
            "idle_cost_core": TARGET_IDLE_CORE,
            "reach_all_s": TARGET_REACH_S,
            "load_p99_ms": TARGET_P99_MS,
        },
        "modes": {},
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
            for mode in args.modes.split(","):
                results["modes"][mode] = run_mode(mode, Path(tmp), args)
                results["modes"][mode]["verdicts"] = verdicts(results["modes"][mode], args.streams)
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    write_json(RESULTS, results)
    ok = True
    for mode, data in results["modes"].items():
        idle, load = data["idle_and_change"], data["load"]
        print(
            f"{mode}: {args.streams} idle streams cost {idle['streams_cost_core'] * 100:.1f}% of "
            f"a core (server {idle['server_core_no_streams'] * 100:.1f}% -> "
            f"{idle['server_core_with_streams'] * 100:.1f}%); {len(idle['changes'])} changes "
            f"reached all streams in <= {idle['reach_all_max_s']} s (median "
            f"{idle['reach_all_median_s']} s); load p50/p99 {load['p50_ms']}/"
            f"{load['p99_ms']} ms over {load['requests']} requests (no streams: p50/p99 "
            f"{load['reference_p50_ms']}/{load['reference_p99_ms']} ms; medians of rounds)"
        )
        print(f"  verdicts: {data['verdicts']}")
        ok = ok and all(data["verdicts"].values())
    print(f"wrote {shown_path(RESULTS)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
