"""Pure domain rules: steps, phases, polling cadence, error codes, programs, names, the lock key."""

from __future__ import annotations

import time

import pytest

from blastdeck.domain.errors import BlastDeckError, ErrorCategory, ErrorCode, category_of
from blastdeck.domain.names import check_name, check_namespace
from blastdeck.domain.pipeline_model import (
    STEP_LABELS,
    STEPS,
    JobStatus,
    Phase,
    Step,
    StepStatus,
    is_terminal,
    phases_with_status,
    poll_after_ms,
    status_of,
    step_of_phase,
)
from blastdeck.domain.programs import (
    Molecule,
    Program,
    check_database_molecule,
    parse_program,
    shape_of,
)
from blastdeck.domain.wording import counted, hits_and_hsps
from blastdeck.locks import InProcessSubmitLock, holder_job_id, new_lock_token, submit_lock_key


def test_the_eight_steps_in_order_with_their_labels() -> None:
    assert [s.value for s in STEPS] == [
        "preparing",
        "warming_up",
        "configuring",
        "staging_db",
        "submitting",
        "running",
        "exporting_results",
        "completed",
    ]
    assert [STEP_LABELS[s] for s in STEPS] == [
        "Prepare",
        "Warmup Check",
        "Configure",
        "Stage DB",
        "Submit",
        "BLAST Run",
        "Export",
        "Complete",
    ]
    assert {s.value for s in StepStatus} == {
        "pending",
        "running",
        "completed",
        "skipped",
        "failed",
        "cancelled",
    }


@pytest.mark.parametrize(
    "phase, ms",
    [
        (None, 1000),
        (Phase.QUEUED, 1000),
        (Phase.PREPARING, 1000),
        (Phase.WARMING_UP, 1000),
        (Phase.CONFIGURING, 1000),
        (Phase.STAGING_DB, 1000),
        (Phase.SUBMITTING, 1000),
        (Phase.WAITING_FOR_SUBMIT_SLOT, 1000),
        (Phase.RUNNING, 3000),
        (Phase.EXPORTING_RESULTS, 3000),
        (Phase.CANCELLING, 3000),
        (Phase.COMPLETED, None),
        (Phase.FAILED, None),
        (Phase.CANCELLED, None),
    ],
)
def test_poll_cadence_per_phase(phase: Phase | None, ms: int | None) -> None:
    assert poll_after_ms(phase) == ms


def test_every_phase_has_a_cadence_and_a_status() -> None:
    for phase in Phase:
        assert poll_after_ms(phase) in (1000, 3000, None)
        assert (poll_after_ms(phase) is None) == is_terminal(phase)
        assert phase in phases_with_status(status_of(phase))


def test_status_is_derived_from_phase() -> None:
    assert status_of(Phase.QUEUED) is JobStatus.QUEUED
    assert status_of(Phase.WAITING_FOR_SUBMIT_SLOT) is JobStatus.RUNNING
    assert status_of(Phase.CANCELLING) is JobStatus.RUNNING
    assert status_of(Phase.CANCELLED) is JobStatus.CANCELLED
    assert phases_with_status(JobStatus.COMPLETED) == {Phase.COMPLETED}


def test_waiting_for_a_submit_slot_belongs_to_the_submit_step() -> None:
    assert step_of_phase(Phase.WAITING_FOR_SUBMIT_SLOT) is Step.SUBMITTING
    assert step_of_phase(Phase.STAGING_DB) is Step.STAGING_DB
    assert step_of_phase(Phase.QUEUED) is None


def test_error_codes_are_a_closed_set_with_categories() -> None:
    assert category_of(ErrorCode.BLAST_SUBMIT_LOCK_BUSY) is ErrorCategory.CAPACITY
    assert category_of(ErrorCode.WORKER_LOST) is ErrorCategory.TRANSIENT
    assert category_of(ErrorCode.CANCELLED) is ErrorCategory.CANCELLED
    assert category_of(ErrorCode.INVALID_FASTA) is ErrorCategory.PERMANENT
    assert len({c.value for c in ErrorCode}) == len(ErrorCode)
    assert all(c.value == c.value.lower() and " " not in c.value for c in ErrorCode)
    assert BlastDeckError(ErrorCode.JOB_NOT_FOUND, "x").http_status == 404
    assert BlastDeckError(ErrorCode.PAYLOAD_TOO_LARGE, "x").http_status == 413
    assert BlastDeckError(ErrorCode.INVALID_FASTA, "x").http_status == 422


def test_programs_know_their_molecules() -> None:
    assert parse_program(" BLASTN ") is Program.BLASTN
    assert (shape_of(Program.BLASTX).query, shape_of(Program.BLASTX).database) == (
        Molecule.NUCLEOTIDE,
        Molecule.PROTEIN,
    )
    assert (shape_of(Program.TBLASTN).query, shape_of(Program.TBLASTN).database) == (
        Molecule.PROTEIN,
        Molecule.NUCLEOTIDE,
    )
    with pytest.raises(BlastDeckError) as err:
        parse_program("blastz")
    assert err.value.code is ErrorCode.UNKNOWN_PROGRAM
    with pytest.raises(BlastDeckError) as err:
        check_database_molecule(Program.BLASTP, "nt", Molecule.NUCLEOTIDE)
    assert err.value.code is ErrorCode.DATABASE_MOLECULE_MISMATCH
    check_database_molecule(Program.TBLASTX, "nt", Molecule.NUCLEOTIDE)


@pytest.mark.parametrize("name", ["nt", "demo-16s", "Swiss.Prot_2024", "a" * 64])
def test_good_names(name: str) -> None:
    assert check_name(name, what="database", field="name") == name


@pytest.mark.parametrize(
    "name", ["", "../x", "a/b", "..", ".hidden", "-rf", "a" * 65, "x\x00y", "a b", "a..b", "ü"]
)
def test_bad_names(name: str) -> None:
    with pytest.raises(BlastDeckError) as err:
        check_name(name, what="database", field="name")
    assert err.value.code is ErrorCode.INVALID_NAME


@pytest.mark.parametrize("ns", ["default", "team-a", "a", "x1-2-3"])
def test_good_namespaces(ns: str) -> None:
    assert check_namespace(ns) == ns


@pytest.mark.parametrize("ns", ["", "Team", "a_b", "-a", "a-", "a" * 64, "a.b", "ns!"])
def test_bad_namespaces(ns: str) -> None:
    with pytest.raises(BlastDeckError) as err:
        check_namespace(ns)
    assert err.value.code is ErrorCode.INVALID_NAMESPACE


@pytest.mark.parametrize(
    "cluster, namespace, key",
    [
        ("aks-east", "default", "elb:blast:elastic-blast-submit:aks-east:default"),
        ("  aks-east  ", " team-a ", "elb:blast:elastic-blast-submit:aks-east:team-a"),
        ("", "default", "elb:blast:elastic-blast-submit:_unknown:default"),
        ("   ", "x", "elb:blast:elastic-blast-submit:_unknown:x"),
        (None, None, "elb:blast:elastic-blast-submit:_unknown:default"),
        ("local", "", "elb:blast:elastic-blast-submit:local:default"),
        ("local", "  ", "elb:blast:elastic-blast-submit:local:default"),
    ],
)
def test_submit_lock_key_normalization(cluster, namespace, key) -> None:
    assert submit_lock_key(cluster, namespace) == key


def test_submit_lock_key_prefix_is_configurable() -> None:
    assert submit_lock_key("c", "n", prefix="lab:lock") == "lab:lock:c:n"


def test_in_process_lock_contract() -> None:
    lock = InProcessSubmitLock()
    key = submit_lock_key("local", "default")
    mine, theirs = new_lock_token("job-1"), new_lock_token("job-2")
    assert mine != new_lock_token("job-1")  # unique per acquisition
    assert holder_job_id(mine) == "job-1"
    assert lock.acquire(key, mine, ttl_s=900)
    assert not lock.acquire(key, theirs, ttl_s=900)
    holder = lock.holder(key)
    assert holder.job_id == "job-1" and 0 < holder.ttl_ms <= 900_000
    assert not lock.release(key, theirs)  # a foreign token cannot release
    assert lock.holder(key).token == mine
    assert lock.release(key, mine)
    assert lock.holder(key) is None
    assert lock.acquire(key, theirs, ttl_s=900)
    assert lock.acquire(submit_lock_key("local", "other"), mine, ttl_s=900)  # other namespace


def test_in_process_lock_expires_by_ttl() -> None:
    lock = InProcessSubmitLock()
    key = submit_lock_key("local", "default")
    assert lock.acquire(key, "dead-worker:1", ttl_s=1)
    time.sleep(1.05)
    assert lock.acquire(key, "next:1", ttl_s=900)
    assert not lock.release(key, "dead-worker:1")
    assert lock.holder(key).token == "next:1"


@pytest.mark.parametrize(
    "n, noun, said",
    [(1, "query", "1 query"), (2, "query", "2 queries"), (0, "hit", "0 hits"),
     (1555, "letter", "1,555 letters"), (1, "HSP", "1 HSP"), (3, "HSP", "3 HSPs")],
)  # fmt: skip
def test_counts_are_worded_singular_for_exactly_one(n: int, noun: str, said: str) -> None:
    assert counted(n, noun) == said


def test_a_jobs_results_are_counted_the_same_way_everywhere() -> None:
    assert hits_and_hsps(1, 1) == "1 hit (1 HSP)"
    assert hits_and_hsps(1234, 2) == "1,234 hits (2 HSPs)"
