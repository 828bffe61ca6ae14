"""Schemathesis against a real `blastdeck serve`, with a new random seed every run: every
operation of its /openapi.json on its own (stateless), then chains of calls that follow the
document's OpenAPI links (stateful: a submitted job's id into its hits, events, cancel and
delete), with auth off, and with auth on both without a token and with a valid one.

Checks, on every request: no 5xx (`not_a_server_error`), the response as the schema documents
it (`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`), and a
request the schema calls invalid answered 4xx (`negative_data_rejection`, except Blast.cgi,
whose parameters the server reads by hand). A request that gets no answer in
`REQUEST_TIMEOUT_S` (a hang) is a failure too, and so are a traceback in the server log and a
job the fuzzer got accepted that then fails or never ends.

The seed is printed at the start and in every failure message; `BLASTDECK_FUZZ_SEED=<seed>`
replays a run (the same cases in the same order; give it a larger time box if the first run's
ran out, since the clock decides where a run stops). Each auth mode has a time box
(`BLASTDECK_FUZZ_SECONDS`, default 30 s, of which a third goes to the stateful chains); past it
the remaining cases are not sent, and the counts say so. `bench/fuzz.py` runs the same fuzzing
for longer and records it in bench/results/fuzz.json. Run with `-s` to see the counts per
operation and every failure with a curl command that reproduces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import Failure
from schemathesis.errors import FailureGroup
from schemathesis.generation.stateful import run_state_machine_as_test

from blastdeck.domain.option_table import ALLOWED_OPTIONS
from blastdeck.domain.programs import Program
from blastdeck.engines import registry
from tests.conftest import TERMINAL, fasta, wait_for_job
from tests.test_hostile_input import LoggedServer, Site, start_site

SEED_ENV = "BLASTDECK_FUZZ_SEED"
SECONDS_ENV = "BLASTDECK_FUZZ_SECONDS"
SEED = int(os.environ.get(SEED_ENV) or secrets.randbits(32))
MODE_SECONDS = float(os.environ.get(SECONDS_ENV) or 30)
EXAMPLES_PER_OPERATION = 30  # split evenly between the kinds of case an operation has
MIN_CASES_PER_KIND = 3  # sent even past the time box, so no operation goes untested
STATEFUL_SCENARIOS = 40  # chains of linked calls per mode, each up to STATEFUL_STEPS long
STATEFUL_STEPS = 8
MAX_STATEFUL_RESTARTS = 20  # new seeds after a run Hypothesis calls flaky (see fuzz_links)
REQUEST_TIMEOUT_S = 30.0
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# NCBI's URL API reads its parameters by hand and answers a refused Put with 200 and NCBI's
# error page (what its clients read), so "invalid input is a 4xx" does not hold there.
NEGATIVE_CHECKS = [checks.negative_data_rejection]
HAND_READ_PATHS = ("/blast/Blast.cgi",)
# Streams that never end (server-sent events until the client leaves): no answer to check.
# tests/test_cluster_pause.py reads it as a stream.
ENDLESS = frozenset({"GET /api/clusters/stream"})
# In the linked chains: a deleted job is gone for every later call (`use_after_free`), and a
# job a submit answered exists for the calls its links lead to (`ensure_resource_availability`).
STATEFUL_CHECKS = [checks.use_after_free, checks.ensure_resource_availability]
HYPOTHESIS = settings(
    derandomize=False,  # a new seed every run (SEED), so each run tries new cases
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
    suppress_health_check=list(HealthCheck),
)

DNA = "ACGTTGCAAGGCTTACGATCGATCGGATCGATTAGCTAGCTAGGATCCGATCGATCGATGCATGCTAGCTAGCAT"
PROTEIN = "MVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHGKKVLGAFSDG"
PROGRAMS = [program.value for program in Program]
DATABASES = ["demo-16s", "demo-proteins"]
QUERIES = [f">q1\n{DNA}\n", f">p1\n{PROTEIN}\n", DNA]
QUERY_LETTERS = "ACGTUNRYKMacgt*-> \n"
# (program, database, queries) that search: a nucleotide or a protein query where it belongs.
SEARCHABLE = [
    ("blastn", "demo-16s", [QUERIES[0], QUERIES[2]]),
    ("blastx", "demo-proteins", [QUERIES[0]]),
    ("tblastx", "demo-16s", [QUERIES[0]]),
    ("blastp", "demo-proteins", [QUERIES[1]]),
    ("tblastn", "demo-16s", [QUERIES[1]]),
]


def derived_seed(*parts: object) -> int:
    """One seed per generated run, all from SEED: a replay draws the same cases everywhere."""
    digest = hashlib.sha256(":".join(map(str, (SEED, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def replay_hint() -> str:
    return f"fuzz seed {SEED} (replay: {SEED_ENV}={SEED} pytest tests/test_fuzz.py)"


# NCBI's URL API reads its parameters from the query string and the form body by hand, so the
# server's schema declares none for /blast/Blast.cgi, and a fuzzer would only ever send it empty
# requests. The test adds the parameters docs/ncbi-url-api.md documents (requests only: the
# documented responses stay the server's own), so Put, Get and Delete are all reached.
NCBI_PARAMETERS: dict[str, dict[str, Any]] = {
    "CMD": {"type": "string", "enum": ["Put", "Get", "Delete"]},
    "PROGRAM": {"type": "string", "enum": PROGRAMS},
    "DATABASE": {"type": "string", "enum": DATABASES},
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


def with_plausible_submits(document: dict[str, Any]) -> dict[str, Any]:
    """For the stateful chains: submits of a program with a database and a query it can search,
    so most are accepted (202) and their links lead to a real, running job. It is narrower
    than the server's own schema, so `negative_data_rejection` is not run on these submits."""
    document = json.loads(json.dumps(document))
    # The title as the server documents it (a negative case must break the server's own rule).
    title = document["components"]["schemas"]["JobCreate"]["properties"]["title"]
    document["components"]["schemas"]["JobCreate"] = {
        "anyOf": [
            {
                "type": "object",
                "required": ["program", "database", "query"],
                "properties": {
                    "program": {"const": program},
                    "database": {"const": database},
                    "query": {"enum": queries},
                    "title": title,
                },
                # Like the server's JobCreate: other fields are ignored, not refused.
            }
            for program, database, queries in SEARCHABLE
        ]
    }
    body = document["paths"]["/api/jobs"]["post"]["requestBody"]["content"]
    body.pop("multipart/form-data")
    return document


@dataclass
class Mode:
    """One way of calling the API: a server and the headers every request carries."""

    name: str
    url: str
    headers: dict[str, str]
    # An admin's headers (none with auth off), to see and settle every job afterwards. Not the
    # fuzzer's own token: the fuzzer may revoke that one (DELETE /api/tokens/{id} of its own).
    admin: dict[str, str]
    kept_job: str  # a finished job, for the operations that read one
    doomed_job: str  # a finished job for DELETE to delete
    rid_job: str  # a finished job for Blast.cgi, whose Delete may delete it


@dataclass
class Budget:
    """A time box: cases drawn past its end are not sent (and counted as such)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    @property
    def spent(self) -> bool:
        return self.left <= 0


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
    seed: int = SEED
    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)  # per mode
    stateful_cases: Counter[str] = field(default_factory=Counter)
    linked_statuses: dict[str, Counter[str]] = field(default_factory=dict)  # per mode
    stateful_restarts: Counter[str] = field(default_factory=Counter)
    not_sent: Counter[str] = field(default_factory=Counter)  # drawn after the time box
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
            "seed": self.seed,
            "cases": sum(self.cases.values()),
            "stateful_cases": sum(self.stateful_cases.values()),
            "stateful_restarts": sum(self.stateful_restarts.values()),
            "not_sent_after_time_box": sum(self.not_sent.values()),
            "failures": sum(self.failing_cases.values()),
            "operations": len(self.operations),
            "auth_modes": self.modes,
            "unique_failures": len(self.failures),
            "seconds": round(self.seconds, 1),
        }

    def failure_list(self) -> list[dict[str, Any]]:
        return [
            {
                "mode": f.mode,
                "operation": f.operation,
                "title": f.title,
                "status": f.status,
                "count": f.count,
                "message": f.message[:500],
                "body": f.body[:500],
                "curl": f.curl[:1000],
            }
            for f in self.failures.values()
        ]

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
def report(request: pytest.FixtureRequest) -> Iterator[Report]:
    say = _terminal_writer(request)
    say(f"\n{replay_hint()}")
    report = Report()
    yield report
    say(f"\nfuzz: {json.dumps(report.summary())}")


def _terminal_writer(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print past pytest's output capture, so the seed is in every run's output."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return print

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return say


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


def load_schema(mode: Mode, document: dict[str, Any] | None = None) -> Any:
    if document is None:
        document = httpx.get(f"{mode.url}/openapi.json", timeout=30).raise_for_status().json()
    # Blast.cgi runs last; by then a Delete may take the kept job too, and a second finished
    # job keeps CMD=Get reaching real reports for longer.
    rids = [mode.rid_job, mode.kept_job]
    return schemathesis.openapi.from_dict(with_ncbi_parameters(document, rids))


def has_negative_cases(definition: dict[str, Any]) -> bool:
    """Whether anything of the operation can be made invalid: a parameter or a body."""
    return "requestBody" in definition or bool(definition.get("parameters"))


def job_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Submits with a real program, database and query (random ones rarely get past the first
    check), so the cases reach the option validators and the pipeline behind them."""
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
        st.text(max_size=12),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    names = st.sampled_from(sorted(ALLOWED_OPTIONS)) | st.text(max_size=12)
    return st.fixed_dictionaries(
        {
            "program": st.sampled_from(PROGRAMS),
            "database": st.sampled_from(DATABASES),
            "query": st.sampled_from(QUERIES) | st.text(alphabet=QUERY_LETTERS, max_size=80),
            "options": st.none() | st.dictionaries(names, values, max_size=3),
        },
        optional={
            "title": st.text(max_size=40),
            "cluster": st.sampled_from(["local", "nowhere"]),
            "namespace": st.text(max_size=12),
        },
    )


# Numbers as text, the way cluster settings carry them: digits of any script (Python's
# isdigit() says yes to "²" and "٣", int() does not always agree), and lengths around the
# 4300 digits past which int() refuses a string.
NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),
    st.integers(4290, 4310).map(lambda n: "9" * n),
    st.text(max_size=12),
)


def cluster_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Clusters of the engines there are, with the settings they know: the settings' checks
    are reached (random ones are refused as unknown first). No job runs on them: the plausible
    submits use `local`."""
    keys = sorted(registry.engine_kind("local").settings | registry.engine_kind("slurm").settings)
    return st.fixed_dictionaries(
        {
            "name": st.from_regex(r"fz-[a-z0-9]{1,20}", fullmatch=True),
            "engine": st.sampled_from(sorted(registry.engine_names())),
        },
        optional={
            "namespace": st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True) | st.text(max_size=8),
            "slots": st.integers(1, 64),
            "settings": st.dictionaries(st.sampled_from(keys), NUMBER_TEXT, max_size=3),
        },
    )


def database_uploads() -> st.SearchStrategy[dict[str, Any]]:
    """FASTA uploads that makeblastdb can build, with arbitrary names, titles and sharing."""
    files = [f">s1 one\n{DNA}\n>s2 two\n{DNA[::-1]}\n".encode(), f">p1\n{PROTEIN}\n".encode()]
    return st.fixed_dictionaries(
        {"file": st.sampled_from(files)},
        optional={
            "name": st.from_regex(r"fz[A-Za-z0-9_.-]{1,30}", fullmatch=True) | st.text(max_size=30),
            "title": st.text(max_size=120),
            "visibility": st.sampled_from(["public", "private", "group"]) | st.text(max_size=8),
            "group": st.text(max_size=12),
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
    if operation.path == "/api/clusters" and operation.method.upper() == "POST":
        clusters = cluster_bodies().flatmap(
            lambda body: operation.as_strategy(body=body, media_type="application/json")
        )
        result.append(("plausible clusters", clusters))
    if operation.path == "/api/databases" and operation.method.upper() == "POST":
        uploads = database_uploads().flatmap(
            lambda body: operation.as_strategy(body=body, media_type="multipart/form-data")
        )
        result.append(("plausible uploads", uploads))
    return result


def run_cases(strategy: Any, max_examples: int, each: Any, run_seed: int) -> None:
    """Call `each` on up to `max_examples` cases drawn from `strategy` with this seed."""

    @seed(run_seed)
    @settings(HYPOTHESIS, max_examples=max_examples)
    @given(case=strategy)
    def run(case: Any) -> None:
        each(case)

    run()


def checks_for(label: str, stateful: bool = False) -> list[Any]:
    hand_read = label.split(" ", 1)[1].startswith(HAND_READ_PATHS)
    return CHECKS + ([] if hand_read else NEGATIVE_CHECKS) + (STATEFUL_CHECKS if stateful else [])


def fuzz(
    mode: Mode,
    report: Report,
    server_log: Callable[[], str],
    seconds: float = MODE_SECONDS,
    examples_per_operation: int = EXAMPLES_PER_OPERATION,
    stateful_scenarios: int = STATEFUL_SCENARIOS,
) -> None:
    """Stateless, then stateful fuzzing of one mode within `seconds`; then the accepted jobs
    must end well and the server log must hold no traceback. Failures are recorded in `report`
    and fail the test at the end, each with a curl command."""
    report.modes.append(mode.name)
    log_mark = len(server_log())
    started = time.monotonic()
    per_operation = fuzz_operations(mode, report, Budget(seconds * 2 / 3), examples_per_operation)
    # The chains get what the operations left, and at least their third of the time box.
    left = max(seconds / 3, seconds - (time.monotonic() - started))
    fuzz_links(mode, report, Budget(left), stateful_scenarios)
    settle(mode, report)
    report.seconds += time.monotonic() - started
    print(f"\n[{mode.name}] {report.cases[mode.name]} cases, seed {SEED}:")
    for label, counts in per_operation.items():
        statuses = " ".join(
            f"{status}x{n}" for status, n in sorted(counts.items()) if status[0].isdigit()
        )
        print(
            f"    {counts['cases']:4d} cases {counts['failing']:4d} failing  {label}  [{statuses}]"
        )
    restarts = report.stateful_restarts[mode.name]
    print(f"    stateful: {report.stateful_cases[mode.name]} linked calls, {restarts} restarts")
    for call, n in sorted(report.linked_statuses.get(mode.name, Counter()).items()):
        print(f"    {n:8d}  {call}")
    if report.not_sent[mode.name]:
        print(f"    not sent after the {seconds:.0f} s time box: {report.not_sent[mode.name]}")
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
        f"[{mode.name}] {failing} of {report.cases[mode.name]} cases failed; {replay_hint()}\n"
        f"{described}\n--- server log (tail) ---\n{server_log()[-8000:]}"
    )


def fuzz_operations(
    mode: Mode, report: Report, budget: Budget, examples_per_operation: int
) -> dict[str, Counter[str]]:
    """Every operation on its own: each kind of case (positive, negative, plausible submits) up
    to its share of `examples_per_operation`, within its share of the time box (what one leaves,
    the next ones get), and at least MIN_CASES_PER_KIND whatever the clock says."""
    schema = load_schema(mode)
    session = requests.Session()
    per_operation: dict[str, Counter[str]] = {}
    runs = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in ENDLESS:
            continue
        report.operations.add(label)
        generated = strategies(operation, mode)
        for kind, strategy in generated:
            examples = max(1, examples_per_operation // len(generated))
            runs.append((label, kind, strategy, examples))
    for index, (label, kind, strategy, examples) in enumerate(runs):
        counts = per_operation.setdefault(label, Counter())
        share = Budget(max(0.0, budget.left) / (len(runs) - index))
        sent = Counter[str]()

        def each(
            case: Any,
            label: str = label,
            counts: Counter[str] = counts,
            share: Budget = share,
            sent: Counter[str] = sent,
        ) -> None:
            if share.spent and sent["cases"] >= MIN_CASES_PER_KIND:
                report.not_sent[mode.name] += 1
                raise _TimeUp
            sent["cases"] += 1
            counts["cases"] += 1
            report.cases[mode.name] += 1
            status, passed = check_case(case, mode, session, report, label)
            counts[f"{status}"] += 1
            if not passed:
                counts["failing"] += 1
                report.failing_cases[mode.name] += 1

        try:
            run_cases(strategy, examples, each, derived_seed(mode.name, label, kind))
        except Unsatisfiable:
            report.not_generated.append(f"[{mode.name}] {label} ({kind})")
        except _TimeUp:
            pass
    return per_operation


def fuzz_links(mode: Mode, report: Report, budget: Budget, scenarios: int) -> None:
    """Chains of calls that follow the document's OpenAPI links: a job's id from a submit (or
    the jobs list) into its other operations, a query id into its alignments, and so on."""
    document = httpx.get(f"{mode.url}/openapi.json", timeout=30).raise_for_status().json()
    schema = load_schema(mode, with_plausible_submits(document))
    session = requests.Session()
    timed_out = False

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {
                "base_url": mode.url,
                "session": session,
                "headers": mode.headers,
                "timeout": REQUEST_TIMEOUT_S,
            }

        def call(self, case: Any, **kwargs: Any) -> Any:
            nonlocal timed_out
            if budget.spent:
                report.not_sent[mode.name] += 1
                timed_out = True
                raise _TimeUp
            label = f"{case.operation.method.upper()} {case.operation.path}"
            try:
                return case.call(**kwargs)
            except requests.RequestException as exc:
                report.failing_cases[mode.name] += 1
                report.add(_no_answer(mode, label, case, exc))
                raise

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            report.cases[mode.name] += 1
            report.stateful_cases[mode.name] += 1
            label = f"{case.operation.method.upper()} {case.operation.path}"
            statuses = report.linked_statuses.setdefault(mode.name, Counter())
            statuses[f"{label} {response.status_code}"] += 1
            # The recorder lets the stateful checks look at the calls before this one.
            recorder = getattr(self, "recorder", None)
            linked = f"{label} (linked)"
            run_checks = checks_for(label, stateful=True)
            if label == "POST /api/jobs":
                # Its schema here is narrowed to plausible submits: a case outside it may well be
                # valid for the server (the stateless cases check refusals on the real schema).
                run_checks = [c for c in run_checks if c not in NEGATIVE_CHECKS]
            if not _validate(case, response, mode, report, linked, run_checks, recorder):
                report.failing_cases[mode.name] += 1

    # The time box cannot stop a chain midway; few short chains keep it near.
    run_settings = settings(
        HYPOTHESIS,
        max_examples=scenarios,
        stateful_step_count=STATEFUL_STEPS,
        phases=[Phase.generate],
    )
    for attempt in range(MAX_STATEFUL_RESTARTS + 1):
        if budget.spent:
            return
        seeded = seed(derived_seed(mode.name, "links", attempt))(Links)
        try:
            run_state_machine_as_test(seeded, settings=run_settings)
            return
        except Flaky:
            # Each failing check is recorded, never raised; Hypothesis calls a run flaky when
            # it replays a chain against a server whose state has moved on (the chain's links
            # then offer other ids), or the time box stopped the replay at another step.
            # Neither is the server's fault: go on with the next seed.
            if timed_out:
                return
            report.stateful_restarts[mode.name] += 1
        except _TimeUp:
            return
        except requests.RequestException:
            return  # a hang: recorded where it happened
        except Exception as exc:
            report.failing_cases[mode.name] += 1
            message = f"{type(exc).__name__}: {exc}"[:2000]
            stopped = FailureExample(mode.name, "stateful", "Chain stopped", message, None, "", "")
            report.add(stopped)
            return


class _TimeUp(Exception):
    """Ends a run of cases once its time box is spent (Hypothesis has no clock of its own)."""


def _no_answer(mode: Mode, label: str, case: Any, exc: Exception) -> FailureExample:
    try:
        curl = case.as_curl_command(headers=mode.headers, base_url=mode.url)
    except (ValueError, requests.RequestException) as unprintable:
        curl = f"(no curl: {unprintable})"
    title = f"No answer ({type(exc).__name__})"
    return FailureExample(mode.name, label, title, str(exc), None, "", curl)


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
        report.add(_no_answer(mode, label, case, exc))
        return None, False
    return response.status_code, _validate(case, response, mode, report, label, checks_for(label))


def _validate(
    case: Any,
    response: Any,
    mode: Mode,
    report: Report,
    label: str,
    run_checks: list[Any],
    recorder: Any = None,
) -> bool:
    try:
        case.validate_response(response, checks=run_checks, headers=mode.headers, recorder=recorder)
    except (FailureGroup, Failure) as raised:
        # One failing check raises its Failure alone; several raise a group of them.
        failures = raised.exceptions if isinstance(raised, FailureGroup) else [raised]
        curl = case.as_curl_command(headers=mode.headers, base_url=mode.url)
        for failure in failures:
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
        return False
    return True


def settle(mode: Mode, report: Report, timeout: float = 120) -> None:
    """The jobs the fuzzer got accepted run on in the background: each must end, and an accepted
    job must not fail (what BLAST would refuse, the submit must refuse up front)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=mode.url, headers=mode.admin, timeout=60) as client:
        resume_paused(client)
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


def resume_paused(client: httpx.Client) -> None:
    """An admin's pause (the fuzzer may pause a cluster: with auth off it is an admin) holds
    new jobs on purpose; lift every pause so the accepted jobs can end."""
    for cluster in client.get("/api/clusters").raise_for_status().json()["items"]:
        name = cluster["name"]
        if cluster["paused"]:
            client.post(f"/api/clusters/{name}/resume").raise_for_status()
        for slot in cluster["submit_slots"]:
            if slot["paused"] and slot["paused"]["namespace"]:
                body = {"namespace": slot["namespace"]}
                url = f"/api/clusters/{name}/resume"
                client.post(url, json=body).raise_for_status()


def start_auth_off(root: Any) -> LoggedServer:
    server = LoggedServer(root / "data", root / "server.log")
    server.start()
    return server


def start_auth_on(root: Any) -> Site:
    # The per-user submit rate limit is off on this server only: with it, every submit after
    # the first 20 answers 429 before any validation, and the fuzzer would never reach the
    # validators again (tests/test_hostile_input.py covers the limit itself).
    # "operator" is the admin that settles the jobs afterwards; the fuzzer never holds its token.
    users = {"fuzzer": False, "operator": True}
    return start_site(root, users, BLASTDECK_SUBMIT_RATE_PER_MINUTE="0")


@pytest.fixture(scope="module")
def auth_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    server = start_auth_off(tmp_path_factory.mktemp("fuzz-off"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def auth_on(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = start_auth_on(tmp_path_factory.mktemp("fuzz-on"))
    try:
        yield site
    finally:
        site.server.stop()


def mode_auth_off(server: LoggedServer, demo_16s) -> Mode:
    return Mode("off", server.url, {}, {}, **seed_jobs(server.url, {}, demo_16s))


def mode_auth_on_without_a_token(site: Site, demo_16s) -> Mode:
    # Its jobs are the admin's: the fuzzer's token may be revoked by now, by the fuzzer itself
    # in the mode with a token (which runs first in bench/fuzz.py, in either order here).
    admin = site.auth("operator")
    return Mode("on-no-token", site.url, {}, admin, **seed_jobs(site.url, admin, demo_16s))


def mode_auth_on_with_a_token(site: Site, demo_16s) -> Mode:
    headers, admin = site.auth("fuzzer"), site.auth("operator")
    return Mode("on-token", site.url, headers, admin, **seed_jobs(site.url, headers, demo_16s))


def test_fuzz_with_auth_off(auth_off: LoggedServer, report: Report, demo_16s) -> None:
    fuzz(mode_auth_off(auth_off, demo_16s), report, auth_off.log)


def test_fuzz_with_auth_on_without_a_token(auth_on: Site, report: Report, demo_16s) -> None:
    # Everything but health, limits, programs, options and the session answers 401: a short
    # time box covers it.
    mode = mode_auth_on_without_a_token(auth_on, demo_16s)
    fuzz(mode, report, auth_on.server.log, seconds=MODE_SECONDS / 4)


def test_fuzz_with_auth_on_with_a_token(auth_on: Site, report: Report, demo_16s) -> None:
    fuzz(mode_auth_on_with_a_token(auth_on, demo_16s), report, auth_on.server.log)
