"""GET /api/usage on SQLite embedded, over real jobs (BLAST on the demo database): every
figure checked against what the jobs recorded (their steps, the CPU seconds BLAST reported in
their batch files); auth on, so an admin sees everyone's jobs and a user only their own; the
bad periods with their error codes; an empty period. The period rules are unit-tested."""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.usage_period import MAX_PERIOD_DAYS, usage_period
from blastdeck.store.models import Job
from tests.conftest import DEMO_DIR, fasta, make_settings, read_fasta, wait_for_job
from tests.test_accounts_api import bearer, cli


def percentile_cont(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("usage") / "data"
    cli(data, "user", "add", "root", "--admin")
    root = bearer(cli(data, "token", "create", "root"))
    with TestClient(create_app(make_settings(data, auth="on"))) as client:
        heads = {"root": root}
        for name in ("alice", "bob"):
            assert client.post("/api/users", json={"name": name}, headers=root).status_code == 201
            made = client.post("/api/tokens", json={"user": name}, headers=root)
            heads[name] = bearer(made.json()["token"])
        records = read_fasta(DEMO_DIR / "demo-16s.fa")
        owners = ["alice", "alice", "bob"]
        ids = []
        for i, owner in enumerate(owners):
            body = {"program": "blastn", "database": "demo-16s", "query": fasta(records[i : i + 2])}
            response = client.post("/api/jobs", json=body, headers=heads[owner])
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        def get(job_id: str) -> dict:
            return client.get(f"/api/jobs/{job_id}", headers=root).json()

        jobs = [wait_for_job(get, job_id) for job_id in ids]
        assert [j["phase"] for j in jobs] == ["completed"] * 3, jobs
        yield {"client": client, "heads": heads, "jobs": jobs, "owners": owners, "data": data}


def cpu_seconds(data: Path, job_id: str) -> float:
    files = [p for p in data.rglob("*.cpu") if job_id in p.parts]
    assert files, f"no .cpu file for job {job_id}"
    return sum(float(p.read_text()) for p in files)


def step(job: dict, key: str) -> dict:
    return next(s for s in job["steps"] if s["key"] == key)


def test_an_admin_sees_every_job_with_the_figures_the_jobs_recorded(setup) -> None:
    client, jobs, data = setup["client"], setup["jobs"], setup["data"]
    response = client.get("/api/usage", headers=setup["heads"]["root"])
    assert response.status_code == 200, response.text
    usage = response.json()
    today = datetime.now(UTC).date()
    assert usage["scope"] == "all" and usage["end"] == today.isoformat()
    assert usage["days_count"] == 30 and len(usage["days"]) == 30 and usage["jobs"] == 3
    assert usage["days"][-1] == {
        "day": today.isoformat(), "total": 3, "queued": 0, "running": 0, "completed": 3,
        "failed": 0, "cancelled": 0,
    }  # fmt: skip
    assert all(d["total"] == 0 for d in usage["days"][:-1])

    cpu = {j["id"]: cpu_seconds(data, j["id"]) for j in jobs}
    assert all(c > 0 for c in cpu.values()), cpu
    alice_cpu = sum(
        cpu[j["id"]] for j, o in zip(jobs, setup["owners"], strict=True) if o == "alice"
    )
    users = {u["name"]: u for u in usage["by_user"]}
    assert {n: u["jobs"] for n, u in users.items()} == {"alice": 2, "bob": 1}
    assert users["alice"]["cpu_hours"] == pytest.approx(alice_cpu / 3600, abs=1e-6)
    assert usage["cpu_hours"] == pytest.approx(sum(cpu.values()) / 3600, abs=1e-6)
    assert [(c["name"], c["jobs"]) for c in usage["by_cluster"]] == [("local", 3)]
    assert [(d["name"], d["jobs"]) for d in usage["by_database"]] == [("demo-16s", 3)]

    [timing] = usage["timings"]
    assert (timing["cluster"], timing["namespace"], timing["jobs"]) == ("local", "default", 3)
    runs = [step(j, "running")["duration_ms"] / 1000 for j in jobs]
    queued = [
        (
            datetime.fromisoformat(step(j, "preparing")["started_at"])
            - datetime.fromisoformat(j["created_at"])
        ).total_seconds()
        for j in jobs
    ]
    for figure, values in (("run", runs), ("queue_wait", queued)):
        got = timing[figure]
        assert got["count"] == 3
        assert got["median_s"] == pytest.approx(statistics.median(values), abs=0.002), figure
        assert got["p95_s"] == pytest.approx(percentile_cont(values, 0.95), abs=0.002), figure
    # Nobody waited for the slot: three waits of (nearly) nothing, still counted.
    assert timing["submit_wait"]["count"] == 3 and timing["submit_wait"]["p95_s"] < 1.0


def test_a_user_sees_only_their_own_jobs(setup) -> None:
    client = setup["client"]
    usage = client.get("/api/usage", headers=setup["heads"]["alice"]).json()
    assert usage["scope"] == "own" and usage["jobs"] == 2
    assert [u["name"] for u in usage["by_user"]] == ["alice"]
    assert usage["timings"][0]["jobs"] == 2 and usage["timings"][0]["run"]["count"] == 2
    assert client.get("/api/usage").status_code == 401


def test_a_period_without_jobs_is_empty_not_an_error(setup) -> None:
    params = {"from": "2020-02-01", "to": "2020-02-29"}
    usage = setup["client"].get("/api/usage", params=params, headers=setup["heads"]["root"])
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["jobs"] == 0 and body["cpu_hours"] == 0 and len(body["days"]) == 29
    assert body["by_user"] == body["by_cluster"] == body["timings"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "invalid_date"),
        ({"to": "yesterday"}, "invalid_date"),
        ({"from": "20261101"}, "invalid_date"),
        ({"to": "9999-12-31"}, "invalid_date"),  # its next day is past date.max
        ({"from": "2026-11-02", "to": "2026-11-01"}, "period_reversed"),
        ({"from": "2020-01-01", "to": "2021-12-31"}, "period_too_long"),
    ],
)
def test_bad_periods_are_refused_with_their_own_code(setup, params: dict, code: str) -> None:
    response = setup["client"].get("/api/usage", params=params, headers=setup["heads"]["root"])
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == code
    assert response.json()["message"]


def test_period_rules() -> None:
    today = date(2026, 12, 1)
    default = usage_period(None, None, today)
    assert (default.first, default.last, default.days) == (date(2026, 11, 2), today, 30)
    ending = usage_period(None, "2026-03-01", today)
    assert ending.first == date(2026, 1, 31)
    longest = usage_period("2026-01-01", None, date(2027, 2, 4))
    assert longest.days == MAX_PERIOD_DAYS
    with pytest.raises(BlastDeckError) as too_long:
        usage_period("2025-12-31", "2027-02-04", today)
    assert too_long.value.code is ErrorCode.PERIOD_TOO_LONG
    assert usage_period("2026-11-05", "2026-11-05", today).end.isoformat() == (
        "2026-11-06T00:00:00+00:00"
    )


def test_days_statuses_and_percentiles_over_rows_of_other_days(setup) -> None:
    """Jobs as the database holds them, on three past days in every status: each day's counts,
    and percentiles interpolated between ranks exactly as percentile_cont does."""
    runtime = setup["client"].app.state.runtime
    # p95: rank 1 + 0.95 * 6 = 6.7, between 6000 and 10000: 6000 + 0.7 * 4000 = 8800
    run_ms = [1000, 2000, 3000, 4000, 5000, 6000, 10_000]
    phases = ["completed"] * 7 + ["failed", "cancelled", "queued", "running"]
    with runtime.sessions.begin() as s:
        for i, phase in enumerate(phases):
            s.add(
                Job(
                    id=str(uuid.uuid4()), program="blastn", database="other-db",
                    cluster="hpc", namespace="team", options={},
                    query_count=1, query_letters=10, phase=phase,
                    created_at=datetime(2025, 3, 1 + i % 3, 12, tzinfo=UTC),
                    run_ms=run_ms[i] if i < len(run_ms) else None,
                    cpu_seconds=3600.0 if i < len(run_ms) else None,
                )
            )  # fmt: skip
    params = {"from": "2025-02-28", "to": "2025-03-03"}
    usage = setup["client"].get("/api/usage", params=params, headers=setup["heads"]["root"])
    body = usage.json()
    by_day = {d["day"]: {k: v for k, v in d.items() if v and k != "day"} for d in body["days"]}
    expected: dict[str, dict[str, int]] = {}
    for i, phase in enumerate(phases):
        day = expected.setdefault(f"2025-03-0{1 + i % 3}", {"total": 0})
        day["total"] += 1
        day[phase] = day.get(phase, 0) + 1
    assert by_day == {"2025-02-28": {}, **expected}
    assert body["cpu_hours"] == pytest.approx(7.0)
    assert [(u["name"], u["jobs"]) for u in body["by_user"]] == [(None, 11)]
    [timing] = body["timings"]
    assert timing["run"] == {"count": 7, "median_s": 4.0, "p95_s": 8.8}
    assert timing["queue_wait"] is None and timing["submit_wait"] is None
    own = setup["client"].get("/api/usage", params=params, headers=setup["heads"]["alice"])
    assert own.json()["jobs"] == 0 and own.json()["timings"] == []
