"""The progress of a database built from an upload (build_progress.py): read while it is
checked and built, ending `done` with makeblastdb's real output near the estimate; malformed,
unknown and other users' upload ids refused. Real makeblastdb on the SQLite backend."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.build_progress import (
    MAX_ENTRIES,
    BuildProgress,
    BuildProgressRegistry,
    makeblastdb_estimate,
    parse_upload_id,
)
from blastdeck.database_fasta import PART_BYTES
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule
from tests.conftest import make_settings

# -- the registry and the estimate, alone ------------------------------------------------------


def test_upload_ids_are_uuids_only() -> None:
    made = str(uuid.uuid4())
    assert parse_upload_id(made.upper()) == made
    for bad in ("", "x", made[:-1], made + "0", f" {made}", made.replace("-", "")):
        with pytest.raises(BlastDeckError) as refused:
            parse_upload_id(bad)
        assert refused.value.code is ErrorCode.INVALID_UPLOAD_ID


def test_the_estimate_counts_packed_residues_headers_and_indexes() -> None:
    nucl = makeblastdb_estimate(Molecule.NUCLEOTIDE, 4_000_000, 1000, 20_000)
    prot = makeblastdb_estimate(Molecule.PROTEIN, 4_000_000, 1000, 20_000)
    assert nucl == 1_000_000 + 20_000 + 1000 * 130
    assert prot == 4_001_000 + 20_000 + 1000 * 130


def test_percent_follows_the_phase_and_stays_below_100_while_building(tmp_path: Path) -> None:
    progress = BuildProgress("u", None)
    assert progress.percent is None  # receiving: the page's own upload bar
    progress.checking(None)
    assert progress.percent is None  # inflating a gzipped upload: total not known yet
    progress.checking(1000)
    progress.checked(250, 2, 400, 10)
    assert progress.percent == 25
    (tmp_path / "db.fa").write_bytes(b"x" * 10_000)  # an input: never counted as output
    with progress.building(Molecule.NUCLEOTIDE, tmp_path, "db", {"db.fa"}):
        (tmp_path / "db.00.nsq").write_bytes(b"x" * 10_000)  # far past the estimate
    assert progress.output_bytes == 10_000 and progress.output_estimate == 100 + 10 + 260
    assert progress.percent == 99  # an estimate: 100 only once makeblastdb has finished


def test_entries_end_expire_and_are_bounded() -> None:
    registry = BuildProgressRegistry(expire_after_s=0.2)
    with registry.tracking("a", "alice") as progress:
        registry.done(progress, "alice/db")
    with pytest.raises(BlastDeckError) as in_use, registry.tracking("a", "bob"):
        pass
    assert in_use.value.code is ErrorCode.UPLOAD_ID_IN_USE
    with pytest.raises(BlastDeckError), registry.tracking("b", None):
        raise BlastDeckError(ErrorCode.INVALID_FASTA, "bad")
    got = registry.get("a")
    assert got is not None and got.phase == "done" and got.database == "alice/db"
    failed = registry.get("b")
    assert failed is not None and (failed.phase, failed.error_code) == ("failed", "invalid_fasta")
    time.sleep(0.25)
    assert registry.get("a") is None and registry.get("b") is None
    bounded = BuildProgressRegistry()
    for n in range(MAX_ENTRIES + 5):
        with bounded.tracking(str(n), None):
            pass
    assert bounded.get("0") is None and bounded.get(str(MAX_ENTRIES + 4)) is not None


# -- the API -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("build-progress") / "data", auth="on")
    with TestClient(create_app(settings)) as test_client:
        users = test_client.app.state.runtime.users
        for name in ("alice", "bob"):
            users.add(name)
        users.add("root", admin=True)
        test_client.tokens = {n: users.create_token(n) for n in ("alice", "bob", "root")}
        yield test_client


def as_(client: TestClient, user: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[user]}", **headers}


def fasta(count: int, length: int) -> bytes:
    rng = random.Random(13)
    records = (f">r{i} read {i}\n{''.join(rng.choices('ACGT', k=length))}\n" for i in range(count))
    return "".join(records).encode()


def test_an_upload_reports_checking_building_and_done(client: TestClient) -> None:
    body = fasta(2200, 3000)  # ~6.6 MB: two parts to check
    assert len(body) > PART_BYTES
    upload_id = str(uuid.uuid4())
    answer: dict[str, object] = {}

    def post() -> None:
        answer["response"] = client.post(
            "/api/databases",
            data={"name": "progress"},
            files={"file": ("progress.fa", body, "text/plain")},
            headers=as_(client, "alice", **{"X-Upload-Id": upload_id}),
        )

    posting = threading.Thread(target=post)
    posting.start()
    seen: list[tuple[str, int | None]] = []
    while posting.is_alive():
        got = client.get(f"/api/databases/uploads/{upload_id}", headers=as_(client, "alice"))
        if got.status_code == 200:
            seen.append((got.json()["phase"], got.json()["percent"]))
        time.sleep(0.02)
    posting.join()
    assert answer["response"].status_code == 201, answer["response"].text
    phases = [phase for phase, _ in seen]
    assert {"checking", "building"} & set(phases), seen  # watched while it worked
    order = ["receiving", "checking", "building", "done"]
    assert phases == sorted(phases, key=order.index), seen  # never back to an earlier phase
    checking = [p for phase, p in seen if phase == "checking" and p is not None]
    assert checking == sorted(checking) and all(0 <= p <= 100 for p in checking)

    done = client.get(f"/api/databases/uploads/{upload_id}", headers=as_(client, "alice"))
    assert done.status_code == 200
    final = done.json()
    assert (final["phase"], final["percent"], final["database"]) == ("done", 100, "alice/progress")
    assert final["checked_bytes"] == final["total_bytes"] == len(body)
    assert (final["sequences"], final["letters"]) == (2200, 2200 * 3000)
    # the estimate against what makeblastdb really wrote (its files, as they were measured)
    assert 0.8 < final["output_estimate"] / final["output_bytes"] < 1.2, final
    # only the uploader and admins may read it
    for user, status in (("bob", 404), ("root", 200)):
        got = client.get(f"/api/databases/uploads/{upload_id.upper()}", headers=as_(client, user))
        assert got.status_code == status, got.text
    assert client.get(f"/api/databases/uploads/{upload_id}").status_code == 401


def test_malformed_and_unknown_upload_ids_are_refused(client: TestClient) -> None:
    refused = client.post(
        "/api/databases",
        data={"name": "bad-id"},
        files={"file": ("bad.fa", b">a\nACGT\n", "text/plain")},
        headers=as_(client, "alice", **{"X-Upload-Id": "not-a-uuid"}),
    )
    assert refused.status_code == 422 and refused.json()["error_code"] == "invalid_upload_id"
    bad = client.get("/api/databases/uploads/not-a-uuid", headers=as_(client, "alice"))
    assert bad.status_code == 422 and bad.json()["error_code"] == "invalid_upload_id"
    unknown = client.get(f"/api/databases/uploads/{uuid.uuid4()}", headers=as_(client, "root"))
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "unknown_upload"
