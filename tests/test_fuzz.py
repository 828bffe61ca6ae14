"""Schemathesis against a real `blastdeck serve`: every operation of its /openapi.json, with
auth off, and with auth on both without a token and with a valid one.

Checks, on every generated request: no 5xx (`not_a_server_error`), and the response as the
schema documents it: its status code, content type and body (`status_code_conformance`,
`content_type_conformance`, `response_schema_conformance`). A request that gets no answer in
`REQUEST_TIMEOUT_S` (a hang) is a failure too, and so are a traceback in the server log and a
job the fuzzer got accepted that then fails or never ends. Generation is derandomized (the same
cases every run) and bounded per operation: positive and negative cases from the schema, for
`{job_id}` operations also on a real finished job, and for `POST /api/jobs` also submits with a
real program, database and query so the option validators are reached. The counts go to
bench/results/fuzz.json; run with `-s` to see them and every failure with a curl command that
reproduces it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.errors import FailureGroup

from blastdeck.domain.option_table import ALLOWED_OPTIONS
from blastdeck.domain.programs import Program
from tests.conftest import TERMINAL, fasta, wait_for_job
from tests.test_hostile_input import LoggedServer, Site, start_site

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "fuzz.json"
EXAMPLES_PER_OPERATION = 30  # split evenly between the kinds of case an operation has
REQUEST_TIMEOUT_S = 30.0
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
HYPOTHESIS = settings(
    derandomize=True,  # the same cases every run
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
    suppress_health_check=list(HealthCheck),
)

DNA = "ACGTTGCAAGGCTTACGATCGATCGGATCGATTAGCTAGCTAGGATCCGATCGATCGATGCATGCTAGCTAGCAT"
PROTEIN = "MVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHGKKVLGAFSDG"

# NCBI's URL API reads its parameters from the query string and the form body by hand, so the
# server's schema declares none for /blast/Blast.cgi, and a fuzzer would only ever send it empty
# requests. The test adds the parameters docs/ncbi-url-api.md documents (requests only: the
# documented responses stay the server's own), so Put, Get and Delete are all reached.
NCBI_PARAMETERS: dict[str, dict[str, Any]] = {
    "CMD": {"type": "string", "enum": ["Put", "Get", "Delete"]},
    "PROGRAM": {"type": "string", "enum": ["blastn", "blastp", "blastx", "tblastn", "tblastx"]},
    "DATABASE": {"type": "string", "enum": ["demo-16s", "demo-proteins"]},
    "QUERY": {"anyOf": [{"type": "string", "enum": [DNA, PROTEIN]}, {"type": "string"}]},
    "RID": {"type": "string"},  # the enum of real job ids is filled in per deployment
    "FORMAT_OBJECT": {"type": "string", "enum": ["SearchInfo"]},
    "FORMAT_TYPE": {"type": "string", "enum": ["XML", "XML2", "JSON2", "Text", "HTML", "CSV"]},
    "ALIGNMENT_VIEW": {"type": "string", "enum": ["Tabular"]},
    "EXPECT": {"type": "string"},
    "HITLIST_SIZE": {"type": "string"},
    "WORD_SIZE": {"type": "string"},
    "MATRIX_NAME": {"type": "string"},
    "GAPCOSTS": {"type": "string"},
    "FILTER": {"type": "string"},
    "MEGABLAST": {"type": "string"},
    "SERVICE": {"type": "string"},
    "PERC_IDENT": {"type": "string"},
    "NUCL_REWARD": {"type": "string"},
    "NUCL_PENALTY": {"type": "string"},
    "THRESHOLD": {"type": "string"},
    "JOB_TITLE": {"type": "string"},
    "ENTREZ_QUERY": {"type": "string"},
    "TOKEN": {"type": "string"},
}


def with_ncbi_parameters(document: dict[str, Any], rids: list[str]) -> dict[str, Any]:
    document = json.loads(json.dumps(document))
    properties = {**NCBI_PARAMETERS, "RID": {"type": "string", "enum": rids}}
    operations = document["paths"]["/blast/Blast.cgi"]
    operations["get"]["parameters"] = [
        {"name": name, "in": "query", "required": name == "CMD", "schema": schema}
        for name, schema in properties.items()
    ]
    operations["post"]["requestBody"] = {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "required": ["CMD"], "properties": properties}
            }
        },
    }
    return document


@dataclass
class Mode:
    """One way of calling the API: a server and the headers every request carries."""

    name: str
    url: str
    headers: dict[str, str]
    owner: dict[str, str]  # the headers of the seeded jobs' owner, to look at them afterwards
    kept_job: str  # a finished job, for the operations that read one
    doomed_job: str  # a finished job for DELETE to delete
    rid_job: str  # a finished job for Blast.cgi, whose Delete may delete it


@dataclass
class FailureExample:
    mode: str
    operation: str
    title: str
    message: str
    status: int | None
    body: str
    curl: str
    count: int = 1


@dataclass
class Report:
    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)  # per mode
    failing_cases: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str, int | None], FailureExample] = field(default_factory=dict)
    not_generated: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, example: FailureExample) -> None:
        key = (example.mode, example.operation, example.title, example.status)
        if key in self.failures:
            self.failures[key].count += 1
        else:
            self.failures[key] = example

    def summary(self) -> dict[str, Any]:
        return {
            "cases": sum(self.cases.values()),
            "failures": sum(self.failing_cases.values()),
            "operations": len(self.operations),
            "auth_modes": self.modes,
            "unique_failures": len(self.failures),
            "seconds": round(self.seconds, 1),
        }

    def describe(self, mode: str) -> str:
        lines = []
        for example in self.failures.values():
            if example.mode != mode:
                continue
            lines += [
                f"[{example.mode}] {example.operation}: {example.title} ({example.count} cases)",
                "    " + " / ".join(example.message.strip().splitlines()[:3])[:300],
                f"    -> {example.status} {example.body[: 300 if example.status else 3000]}",
                f"    {example.curl[:600]}",
            ]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    report = Report()
    yield report
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report.summary(), indent=2) + "\n")
    print(f"\nfuzz: {json.dumps(report.summary())} -> {RESULTS}")


def finished_job(url: str, headers: dict[str, str], query: str, title: str) -> str:
    body = {"program": "blastn", "database": "demo-16s", "query": query, "title": title}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        response = client.post("/api/jobs", json=body)
        assert response.status_code == 202, response.text
        job = wait_for_job(lambda i: client.get(f"/api/jobs/{i}").json(), response.json()["id"])
    assert job["phase"] == "completed", job
    return job["id"]


def seed_jobs(url: str, headers: dict[str, str], demo_16s) -> dict[str, str]:
    return {
        role: finished_job(url, headers, fasta(demo_16s[index : index + 1]), role)
        for index, role in enumerate(("kept_job", "doomed_job", "rid_job"))
    }


@pytest.fixture(scope="module")
def auth_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    root = tmp_path_factory.mktemp("fuzz-off")
    server = LoggedServer(root / "data", root / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def auth_on(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # The per-user submit rate limit is off on this server only: with it, every submit after
    # the first 20 answers 429 before any validation, and the fuzzer would never reach the
    # validators again (tests/test_hostile_input.py covers the limit itself).
    site = start_site(
        tmp_path_factory.mktemp("fuzz-on"),
        {"fuzzer": False},
        BLASTDECK_SUBMIT_RATE_PER_MINUTE="0",
    )
    try:
        yield site
    finally:
        site.server.stop()


def load_schema(mode: Mode) -> Any:
    document = httpx.get(f"{mode.url}/openapi.json", timeout=30).raise_for_status().json()
    return schemathesis.openapi.from_dict(with_ncbi_parameters(document, [mode.rid_job]))


def has_negative_cases(definition: dict[str, Any]) -> bool:
    """Whether anything of the operation can be made invalid: a query parameter or a body. A
    bare `string` path parameter cannot (every string is a valid job id)."""
    parameters = definition.get("parameters", [])
    return "requestBody" in definition or any(p["in"] != "path" for p in parameters)


def job_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Submits with a real program, database and query (random ones rarely get past the first
    check), so the cases reach the option validators and the pipeline behind them."""
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=12),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    names = st.sampled_from(sorted(ALLOWED_OPTIONS)) | st.text(max_size=12)
    return st.fixed_dictionaries(
        {
            "program": st.sampled_from([program.value for program in Program]),
            "database": st.sampled_from(["demo-16s", "demo-proteins"]),
            "query": st.sampled_from([f">q1\n{DNA}\n", f">p1\n{PROTEIN}\n", DNA])
            | st.text(alphabet="ACGTUNRYKMacgt*-> \n", max_size=80),
            "options": st.none() | st.dictionaries(names, values, max_size=3),
        },
        optional={
            "title": st.text(max_size=40),
            "cluster": st.sampled_from(["local", "nowhere"]),
            "namespace": st.text(max_size=12),
        },
    )


def strategies(operation: Any, mode: Mode) -> list[tuple[str, Any]]:
    definition = operation.definition.raw
    if "{job_id}" in operation.path:
        doomed = operation.method.upper() == "DELETE"  # cancel of a finished job changes nothing
        real = {"job_id": mode.doomed_job if doomed else mode.kept_job}
    else:
        real = None
    kinds = [GenerationMode.POSITIVE]
    if has_negative_cases(definition):
        kinds.append(GenerationMode.NEGATIVE)
    result = []
    for kind in kinds:
        strategy = operation.as_strategy(generation_mode=kind)
        if real:  # random ids (404) and the real job, whose data the other parameters then reach
            strategy = st.one_of(strategy, operation.as_strategy(kind, path_parameters=real))
        result.append((kind.value, strategy))
    if operation.path == "/api/jobs" and operation.method.upper() == "POST":
        bodies = job_bodies().flatmap(
            lambda body: operation.as_strategy(body=body, media_type="application/json")
        )
        result.append(("plausible submits", bodies))
    return result


def run_cases(strategy: Any, max_examples: int, each: Any) -> None:
    """Call `each` on `max_examples` cases drawn from `strategy` (fewer when there are fewer
    distinct ones)."""

    @settings(HYPOTHESIS, max_examples=max_examples)
    @given(case=strategy)
    def run(case: Any) -> None:
        each(case)

    run()


def fuzz(mode: Mode, report: Report, server_log: Any) -> None:
    schema = load_schema(mode)
    report.modes.append(mode.name)
    session = requests.Session()
    log_mark = len(server_log())
    started = time.monotonic()
    per_operation: dict[str, Counter[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        report.operations.add(label)
        counts = per_operation.setdefault(label, Counter())

        def each(case: Any, label: str = label, counts: Counter[str] = counts) -> None:
            counts["cases"] += 1
            report.cases[mode.name] += 1
            status, passed = check_case(case, mode, session, report, label)
            counts[f"{status}"] += 1
            if not passed:
                counts["failing"] += 1
                report.failing_cases[mode.name] += 1

        generated = strategies(operation, mode)
        for kind, strategy in generated:
            try:
                run_cases(strategy, EXAMPLES_PER_OPERATION // len(generated), each)
            except Unsatisfiable:
                report.not_generated.append(f"[{mode.name}] {label} ({kind})")
    settle(mode, report)
    report.seconds += time.monotonic() - started
    print(f"\n[{mode.name}] {report.cases[mode.name]} cases:")
    for label, counts in per_operation.items():
        statuses = " ".join(
            f"{status}x{n}" for status, n in sorted(counts.items()) if status[0].isdigit()
        )
        print(
            f"    {counts['cases']:4d} cases {counts['failing']:4d} failing  {label}  [{statuses}]"
        )
    log = server_log()[log_mark:]
    if "Traceback" in log:
        report.failing_cases[mode.name] += 1
        excerpt = log[log.index("Traceback") :][:3000]
        report.add(FailureExample(mode.name, "server log", "Traceback", "", None, excerpt, ""))
    for note in report.not_generated:
        if note.startswith(f"[{mode.name}]"):
            print(f"    no case could be generated: {note}")
    described = report.describe(mode.name)
    if described:
        print(described)
    failing = report.failing_cases[mode.name]
    assert failing == 0, (
        f"[{mode.name}] {failing} of {report.cases[mode.name]} cases failed:\n{described}\n"
        f"--- server log (tail) ---\n{server_log()[-8000:]}"
    )


def check_case(
    case: Any, mode: Mode, session: requests.Session, report: Report, label: str
) -> tuple[int | None, bool]:
    """Send one case and run the checks on its answer, recording what failed. The answer's
    status (None: no answer) and whether every check passed."""
    try:
        response = case.call(
            base_url=mode.url, session=session, headers=mode.headers, timeout=REQUEST_TIMEOUT_S
        )
    except requests.RequestException as exc:
        curl = case.as_curl_command(headers=mode.headers, base_url=mode.url)
        report.add(
            FailureExample(
                mode.name, label, f"No answer ({type(exc).__name__})", str(exc), None, "", curl
            )
        )
        return None, False
    try:
        case.validate_response(response, checks=CHECKS, headers=mode.headers)
    except FailureGroup as group:
        curl = case.as_curl_command(headers=mode.headers, base_url=mode.url)
        for failure in group.exceptions:
            report.add(
                FailureExample(
                    mode.name,
                    label,
                    failure.title,
                    failure.message,
                    response.status_code,
                    response.content[:400].decode(errors="replace"),
                    curl,
                )
            )
        return response.status_code, False
    return response.status_code, True


def settle(mode: Mode, report: Report, timeout: float = 120) -> None:
    """The jobs the fuzzer got accepted run on in the background: each must end, and an accepted
    job must not fail (what BLAST would refuse, the submit must refuse up front)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=mode.url, headers=mode.owner, timeout=60) as client:
        while True:
            jobs = client.get("/api/jobs", params={"limit": 500}).raise_for_status().json()
            running = [job for job in jobs["items"] if job["phase"] not in TERMINAL]
            if not running or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    for job in running:
        report.failing_cases[mode.name] += 1
        title = f"Accepted job still {job['phase']} after {timeout:.0f} s"
        report.add(FailureExample(mode.name, "job", title, job["id"], None, "", ""))
    for job in jobs["items"]:
        if job["phase"] == "failed":
            report.failing_cases[mode.name] += 1
            title = f"Accepted job failed: {job['error_code']}"
            message = f"{job['id']} {job['program']} {job['database']} {job['options']}"
            error = job["error"] or ""
            report.add(FailureExample(mode.name, "job", title, message, None, error, ""))


def test_fuzz_with_auth_off(auth_off: LoggedServer, report: Report, demo_16s) -> None:
    mode = Mode("off", auth_off.url, {}, {}, **seed_jobs(auth_off.url, {}, demo_16s))
    fuzz(mode, report, auth_off.log)


def test_fuzz_with_auth_on_without_a_token(auth_on: Site, report: Report, demo_16s) -> None:
    owner = auth_on.auth("fuzzer")
    mode = Mode("on-no-token", auth_on.url, {}, owner, **seed_jobs(auth_on.url, owner, demo_16s))
    fuzz(mode, report, auth_on.server.log)


def test_fuzz_with_auth_on_with_a_token(auth_on: Site, report: Report, demo_16s) -> None:
    headers = auth_on.auth("fuzzer")
    mode = Mode(
        "on-token", auth_on.url, headers, headers, **seed_jobs(auth_on.url, headers, demo_16s)
    )
    fuzz(mode, report, auth_on.server.log)
