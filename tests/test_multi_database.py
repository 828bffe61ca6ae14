"""Several databases in one search (issue 15): `databases: ["a", "b"]` is searched as their union,
exactly as raw `blastn -db "a b"` (E-values over both): the TSV download equals that raw run byte
for byte, for blastn and blastp; staging is per database; hit sequences come from the database
each subject is in; a taxon filter uses the union of the databases' taxids; a database whose
file name has a space goes through an alias file. And the bad inputs, each a 4xx with its code.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.locks import submit_lock_key
from blastdeck.search_databases import blastdb_path, db_list_arg
from tests.conftest import (
    BLASTDECK,
    DEMO_DIR,
    api_job,
    fasta,
    make_settings,
    read_fasta,
    wait_for_job,
)

OPTIONS = {"evalue": 1e-5, "max_target_seqs": 40}
RAW_OPTIONS = ["-evalue", "1e-05", "-max_target_seqs", "40"]


def makeblastdb(fasta_file: Path, out: Path, molecule: str, *flags: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["makeblastdb", "-in", fasta_file, "-dbtype", molecule, "-out", out.name, *flags],
        check=True, capture_output=True, cwd=out.parent,
    )  # fmt: skip
    return out


def raw_tsv(program: str, queries: Path, prefixes: list[Path], cwd: Path) -> str:
    """What BLAST itself prints for the union: `-db "a b"` with absolute paths."""
    db = " ".join(str(p) for p in prefixes)
    argv = [program, "-query", str(queries), "-db", db, "-outfmt", "6", *RAW_OPTIONS]
    return subprocess.run(argv, check=True, capture_output=True, text=True, cwd=cwd).stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("multi")
    genes = read_fasta(DEMO_DIR / "demo-16s.fa")
    proteins = read_fasta(DEMO_DIR / "demo-proteins.fa")
    taxid_map = work / "taxa.txt"
    (work / "a.fa").write_text(fasta(genes[:100]))
    (work / "b.fa").write_text(fasta(genes[100:]))
    (work / "pa.fa").write_text(fasta(proteins[:4]))
    (work / "pb.fa").write_text(fasta(proteins[4:]))
    ids = [h.split()[0] for h, _ in genes]
    taxid_map.write_text("".join(f"{i} {562 if n < 100 else 1280}\n" for n, i in enumerate(ids)))
    taxa = ["-parse_seqids", "-taxid_map", str(taxid_map)]
    dbs = {
        "16s-a": makeblastdb(work / "a.fa", work / "one" / "a", "nucl", *taxa),
        "16s-b": makeblastdb(work / "b.fa", work / "two" / "b", "nucl", *taxa),
        "prot-a": makeblastdb(work / "pa.fa", work / "pone" / "pa", "prot", "-parse_seqids"),
        "prot-b": makeblastdb(work / "pb.fa", work / "ptwo" / "pb", "prot", "-parse_seqids"),
        "v4-a": makeblastdb(work / "a.fa", work / "v4" / "a", "nucl", "-blastdb_version", "4"),
        "plain-b": makeblastdb(work / "b.fa", work / "plain" / "b", "nucl"),  # no -parse_seqids
        "v4-ids-b": makeblastdb(
            work / "b.fa", work / "v4ids" / "b", "nucl", "-blastdb_version", "4", "-parse_seqids"
        ),
    }
    # A database whose file name has a space (BLAST splits -db on it): built, then renamed
    # (version 4 files do not name themselves).
    spaced_dir = work / "with space"
    makeblastdb(work / "b.fa", spaced_dir / "b", "nucl", "-blastdb_version", "4")
    for file in spaced_dir.iterdir():
        file.rename(spaced_dir / file.name.replace("b.", "16s b.", 1))
    dbs["spaced"] = spaced_dir / "16s b"
    settings = make_settings(work / "data", demo_databases=False)
    with TestClient(create_app(settings)) as client:
        for name, prefix in dbs.items():
            added = client.post("/api/databases", json={"name": name, "path": str(prefix)})
            assert added.status_code in (200, 201), added.text
        queries = [(f"q{i}", genes[i][1][100:700]) for i in (3, 40, 120, 180)]
        queries.append(("noise", "ACGT" * 60))
        (work / "q.fa").write_text(fasta(queries))
        prot_queries = [(f"p{i}", proteins[i][1][10:200]) for i in (1, 6)]
        (work / "pq.fa").write_text(fasta(prot_queries))
        yield {"client": client, "work": work, "dbs": dbs, "settings": settings}


def read_fasta_text(text: str) -> list[tuple[str, str]]:
    blocks = text.split(">")[1:]
    return [(b.partition("\n")[0], b.partition("\n")[2].replace("\n", "")) for b in blocks]


def submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(api_job(client), response.json()["id"])
    assert done["phase"] == "completed", done
    return done


def tsv(client: TestClient, job_id: str) -> str:
    response = client.get(f"/api/jobs/{job_id}/download", params={"format": "tsv"})
    assert response.status_code == 200, response.text
    header, _, rows = response.text.partition("\n")
    assert header.startswith("qaccver\tsaccver\tpident")  # BLAST's rows after a header
    return rows


def step(job: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["key"] == key)


@pytest.fixture(scope="module")
def nucl_job(env: dict[str, Any]) -> dict[str, Any]:
    query = (env["work"] / "q.fa").read_text()
    return submit(
        env["client"], program="blastn", databases=["16s-a", "16s-b"], query=query, options=OPTIONS
    )


def test_blastn_over_two_databases_equals_raw_blast(env: dict[str, Any], nucl_job) -> None:
    dbs, work = env["dbs"], env["work"]
    ours = tsv(env["client"], nucl_job["id"])
    raw = raw_tsv("blastn", work / "q.fa", [dbs["16s-a"], dbs["16s-b"]], work)
    assert ours == raw
    subjects = {line.split("\t")[1] for line in raw.splitlines()}
    ids_a = {h.split()[0] for h, _ in read_fasta(work / "a.fa")}
    assert subjects & ids_a and subjects - ids_a  # hits in both databases
    assert nucl_job["databases"] == ["16s-a", "16s-b"] and nucl_job["database"] == "16s-a"


def test_evalues_are_over_the_union_not_each_database(env: dict[str, Any], nucl_job) -> None:
    """The same HSP has a larger E-value in the union (a bigger search space) than in one
    database: the search was one BLAST run over both, not two merged."""
    client, query = env["client"], (env["work"] / "q.fa").read_text()
    alone = submit(client, program="blastn", database="16s-a", query=query, options=OPTIONS)
    evalue = {tuple(r.split("\t")[:2] + r.split("\t")[6:10]): float(r.split("\t")[10])
              for r in tsv(client, alone["id"]).splitlines()}  # fmt: skip
    union = {tuple(r.split("\t")[:2] + r.split("\t")[6:10]): float(r.split("\t")[10])
             for r in tsv(client, nucl_job["id"]).splitlines()}  # fmt: skip
    shared = [k for k in evalue if k in union and evalue[k] > 0]
    assert shared and all(union[k] > evalue[k] for k in shared)


def test_blastp_over_two_databases_equals_raw_blast(env: dict[str, Any]) -> None:
    dbs, work, client = env["dbs"], env["work"], env["client"]
    job = submit(
        client,
        program="blastp",
        databases=["prot-a", "prot-b"],
        query=(work / "pq.fa").read_text(),
        options=OPTIONS,
    )
    ours = tsv(client, job["id"])
    raw = raw_tsv("blastp", work / "pq.fa", [dbs["prot-a"], dbs["prot-b"]], work)
    assert ours == raw and len({line.split("\t")[1] for line in raw.splitlines()}) >= 2


def test_each_database_is_staged_then_reused(env: dict[str, Any], nucl_job) -> None:
    staging = step(nucl_job, "staging_db")
    assert staging["status"] in ("completed", "skipped")
    client = env["client"]
    again = submit(
        client, program="blastn", databases=["16s-b", "16s-a"], query=fasta([("x", "ACGT" * 50)])
    )
    skipped = step(again, "staging_db")
    assert skipped["status"] == "skipped"
    assert "warm copy of 16s-a" in skipped["skip_reason"]
    assert "warm copy of 16s-b" in skipped["skip_reason"]
    warm = step(again, "warming_up")
    assert warm["status"] == "completed"
    config = client.get(f"/api/jobs/{again['id']}/config").text
    assert "-db 'b a'" in config  # one -db argument naming both (no shell: shown quoted)


def test_downloads_name_every_database_by_its_own_name(env: dict[str, Any], nucl_job) -> None:
    got = env["client"].get(f"/api/jobs/{nucl_job['id']}/download", params={"format": "xml"})
    assert got.status_code == 200, got.text
    assert "<BlastOutput_db>a b</BlastOutput_db>" in got.text  # as raw `blastn -db "a b"`


def test_databases_of_the_same_file_name_are_named_by_their_links(tmp_path: Path) -> None:
    distinct = [tmp_path / "one" / "a", tmp_path / "two" / "b"]
    assert (db_list_arg(distinct), blastdb_path(distinct)) == ("a b", ".:0:1")
    same = [tmp_path / "alice" / "x", tmp_path / "bob" / "x"]
    assert (db_list_arg(same), blastdb_path(same)) == ("0/x 1/x", ".")
    assert (db_list_arg(distinct[:1]), blastdb_path(distinct[:1])) == ("a", ".")


def test_hit_sequences_come_from_the_database_each_subject_is_in(
    env: dict[str, Any], nucl_job
) -> None:
    dbs, client = env["dbs"], env["client"]
    rows = [r.split("\t") for r in tsv(client, nucl_job["id"]).splitlines()]
    ids_a = {h.split()[0] for h, _ in read_fasta(env["work"] / "a.fa")}
    in_a = next(r[1] for r in rows if r[1] in ids_a)
    in_b = next(r[1] for r in rows if r[1] not in ids_a)
    response = client.get(
        f"/api/jobs/{nucl_job['id']}/download",
        params={"format": "fasta", "region": "full", "subjects": f"{in_b},{in_a}"},
    )
    assert response.status_code == 200, response.text
    expected = b""
    for subject, prefix in ((in_a, dbs["16s-a"]), (in_b, dbs["16s-b"])):
        expected += subprocess.run(
            ["blastdbcmd", "-db", prefix.name, "-entry", subject],
            check=True, capture_output=True, cwd=prefix.parent,
        ).stdout  # fmt: skip
    # in the job's order: the order of its hits
    order = [r[1] for r in rows]
    first, second = sorted((in_a, in_b), key=order.index)
    got = response.content.split(b">")[1:]
    assert [g.split()[0].decode() for g in got] == [first, second]
    assert sorted(response.content.split(b">")) == sorted(expected.split(b">"))


def test_a_taxon_filter_uses_the_union_of_the_databases_taxids(env: dict[str, Any]) -> None:
    client, work = env["client"], env["work"]
    query = (work / "q.fa").read_text()
    body = {"program": "blastn", "databases": ["16s-a", "16s-b"], "query": query}
    job = submit(client, **body, options={**OPTIONS, "taxids": "1280"})
    assert job["taxon_filter"]["database_taxids"] == 1
    subjects = {r.split("\t")[1] for r in tsv(client, job["id"]).splitlines()}
    ids_b = {h.split()[0] for h, _ in read_fasta(work / "b.fa")}
    assert subjects and subjects <= ids_b  # only database b's sequences have taxid 1280
    both = submit(client, **body, options={**OPTIONS, "taxids": "562,1280"})
    assert both["taxon_filter"]["database_taxids"] == 2


def test_a_database_file_name_with_a_space_goes_through_an_alias(env: dict[str, Any]) -> None:
    dbs, work, client = env["dbs"], env["work"], env["client"]
    query = (work / "q.fa").read_text()
    job = submit(
        client, program="blastn", databases=["v4-a", "spaced"], query=query, options=OPTIONS
    )
    ours = tsv(client, job["id"])
    quoted = [dbs["v4-a"], Path(f'"{dbs["spaced"]}"')]  # raw BLAST: quoted inside the list
    assert ours == raw_tsv("blastn", work / "q.fa", quoted, work) and ours
    config = client.get(f"/api/jobs/{job['id']}/config").text
    assert "-db search " in config
    alias = env["settings"].jobs_dir / job["id"] / "search-dbs" / "staged" / "search.nal"
    assert 'DBLIST "0/a" "1/16s b"' in alias.read_text()
    xml = client.get(f"/api/jobs/{job['id']}/download", params={"format": "xml"})
    assert xml.status_code == 200 and xml.text.count("<Iteration>") == 5
    # No ids in these databases: the sequences are found by ordinal over both (the union's).
    sequences = {
        h.split()[0]: seq for h, seq in read_fasta(work / "a.fa") + read_fasta(work / "b.fa")
    }
    got = client.get(f"/api/jobs/{job['id']}/download", params={"format": "fasta"})
    assert got.status_code == 200, got.text
    records = read_fasta_text(got.text)
    subjects = list(dict.fromkeys(line.split("\t")[1] for line in ours.splitlines()))
    assert [h.split()[0] for h, _ in records] == subjects
    assert all(seq == sequences[h.split()[0]] for h, seq in records)
    in_spaced = {h.split()[0] for h, _ in read_fasta(work / "b.fa")}
    assert set(subjects) & in_spaced and set(subjects) - in_spaced


def test_an_old_style_single_database_job_is_unchanged(env: dict[str, Any]) -> None:
    client = env["client"]
    query = (env["work"] / "q.fa").read_text()
    job = submit(client, program="blastn", database="16s-b", databases=["16s-b"], query=query)
    assert job["databases"] == ["16s-b"]
    config = client.get(f"/api/jobs/{job['id']}/config").text
    assert "-db b " in config


def test_database_removal_is_refused_while_a_multi_database_job_searches_it(
    env: dict[str, Any],
) -> None:
    client = env["client"]
    slow = {"evalue": 10, "word_size": 4, "task": "blastn-short", "max_target_seqs": 5}
    body = {"program": "blastn", "databases": ["16s-a", "16s-b"], "options": slow}
    response = client.post("/api/jobs", json={**body, "query": (env["work"] / "q.fa").read_text()})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    refused = client.delete("/api/databases/16s-b")
    state = api_job(client)(job_id)["phase"]
    if state not in ("completed", "failed", "cancelled"):  # it may have finished already
        assert refused.status_code == 409, refused.text
        assert refused.json()["error_code"] == "database_in_use"
    wait_for_job(api_job(client), job_id)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"databases": []}, 422, "empty_database_list"),
        ({"databases": ["16s-a", " "]}, 422, "empty_database_list"),
        ({"databases": ["16s-a", "16s-a"]}, 422, "duplicate_database"),
        ({"databases": ["16s-a"] * 2 + [f"x{i}" for i in range(20)]}, 422, "too_many_databases"),
        ({"database": "16s-a", "databases": ["16s-a", "16s-b"]}, 422, "conflicting_databases"),
        ({"database": "16s-b", "databases": ["16s-a"]}, 422, "conflicting_databases"),
        ({"databases": ["16s-a", "prot-a"]}, 422, "mixed_database_molecules"),
        ({"databases": ["prot-a", "prot-b"]}, 422, "database_molecule_mismatch"),
        ({"databases": ["16s-a", "no-such-db"]}, 404, "unknown_database"),
        ({"databases": "16s-a,16s-b"}, 422, "invalid_request"),
        ({"databases": ["16s-a", 7]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
)
def test_bad_database_lists_are_refused(
    env: dict[str, Any], body: dict[str, Any], status: int, code: str
) -> None:
    client = env["client"]
    before = client.get("/api/jobs").json()["total"]
    response = client.post("/api/jobs", json={"program": "blastn", "query": "ACGT" * 30, **body})
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error_code"] == code and error["message"]
    assert client.get("/api/jobs").json()["total"] == before  # nothing stored


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["16s-a", "v4-a"], "version 4 and version 5"),
        (["plain-b", "16s-a"], "-parse_seqids"),
        (["16s-a", "16s-b", "plain-b"], "-parse_seqids"),
    ],
)
def test_databases_blast_cannot_search_together_are_refused_at_submit(
    env: dict[str, Any], names: list[str], said: str
) -> None:
    """Version 4 with version 5, and version 5 built with -parse_seqids with one built
    without: BLAST+ runs none of them as one search (checked here on the same files), so the
    submit is refused up front, naming the databases, rather than the job failing later."""
    client, work = env["client"], env["work"]
    before = client.get("/api/jobs").json()["total"]
    query = (work / "q.fa").read_text()
    response = client.post("/api/jobs", json={"program": "blastn", "databases": names,
                                              "query": query})  # fmt: skip
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error_code"] == "databases_not_searchable_together"
    assert error["field"] == "databases" and said in error["message"]
    assert all(name in error["message"] for name in names)
    assert client.get("/api/jobs").json()["total"] == before  # nothing stored
    with pytest.raises(subprocess.CalledProcessError):
        raw_tsv("blastn", work / "q.fa", [env["dbs"][n] for n in names], work)


def test_version_4_databases_with_and_without_parse_seqids_are_searched_together(
    env: dict[str, Any],
) -> None:
    """BLAST+ mixes those (only version 5 ones refuse): accepted, and the rows are its own."""
    client, work, dbs = env["client"], env["work"], env["dbs"]
    query = (work / "q.fa").read_text()
    job = submit(client, program="blastn", databases=["v4-a", "v4-ids-b"], query=query,
                 options=OPTIONS)  # fmt: skip
    ours = tsv(client, job["id"])
    assert ours and ours == raw_tsv("blastn", work / "q.fa", [dbs["v4-a"], dbs["v4-ids-b"]], work)


def test_multipart_form_takes_repeated_or_comma_separated_databases(env: dict[str, Any]) -> None:
    client = env["client"]
    for databases in (["16s-a", "16s-b"], "16s-a,16s-b"):
        response = client.post(
            "/api/jobs",
            data={"program": "blastn", "databases": databases},
            files={"query": ("q.fa", b">q\n" + b"ACGT" * 30)},
        )
        assert response.status_code == 202, response.text
        assert response.json()["databases"] == ["16s-a", "16s-b"]
        wait_for_job(api_job(client), response.json()["id"])
    empty = client.post(
        "/api/jobs",
        data={"program": "blastn", "databases": ""},
        files={"query": ("q.fa", b">q\n" + b"ACGT" * 30)},
    )
    assert empty.status_code == 422 and empty.json()["error_code"] == "empty_database_list"


def test_a_database_the_user_may_not_read_is_unknown(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", auth="on")
    with TestClient(create_app(settings)) as client:
        users = client.app.state.runtime.users
        users.add("alice")
        users.add("bob")
        tokens = {n: users.create_token(n) for n in ("alice", "bob")}
        gene = fasta([("g1 gene", "ACGTTGCAAGGCTTAACCGGTTAACGTAGCTAGCTAGGCTAACGTTAGC" * 4)])
        made = client.post(
            "/api/databases",
            data={"name": "mine"},
            files={"file": ("mine.fa", gene.encode(), "text/plain")},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        )
        assert made.status_code == 201, made.text
        body = {"program": "blastn", "databases": ["demo-16s", "alice/mine"], "query": gene}
        refused = client.post(
            "/api/jobs", json=body, headers={"Authorization": f"Bearer {tokens['bob']}"}
        )
        assert refused.status_code == 404, refused.text
        assert refused.json()["error_code"] == "unknown_database"
        assert refused.json()["field"] == "databases"
        allowed = client.post(
            "/api/jobs", json=body, headers={"Authorization": f"Bearer {tokens['alice']}"}
        )
        assert allowed.status_code == 202, allowed.text
        assert allowed.json()["databases"] == ["demo-16s", "alice/mine"]


def test_cli_submit_takes_several_databases(env: dict[str, Any], tmp_path: Path) -> None:
    """`blastdeck submit --db a --db b` and `--db a,b`, on a local data dir of its own."""
    data_dir, dbs, query = tmp_path / "data", env["dbs"], env["work"] / "q.fa"

    def cli(*args: str) -> subprocess.CompletedProcess:
        argv = [BLASTDECK, *args, "--data-dir", str(data_dir)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=180)

    for name in ("16s-a", "16s-b", "prot-a"):
        assert cli("db", "add", name, str(dbs[name])).returncode == 0
    for picked in (["--db", "16s-a", "--db", "16s-b"], ["--db", "16s-a,16s-b"]):
        run = cli("submit", str(query), *picked, "-o", "evalue=1e-5", "-o", "max_target_seqs=40")
        assert run.returncode == 0, run.stderr
        job_id = run.stdout.split("blastdeck results ")[1].split()[0]
        status = cli("status", job_id, "--json")
        assert '"databases": [' in status.stdout and '"16s-b"' in status.stdout
        ours = cli("results", job_id, "--format", "tsv", "--columns", "std").stdout
        raw = raw_tsv("blastn", query, [dbs["16s-a"], dbs["16s-b"]], tmp_path)
        assert ours.partition("\n")[2] == raw
    bad = cli("submit", str(query), "--db", "16s-a", "--db", "prot-a")
    assert bad.returncode != 0 and "prot-a (protein)" in bad.stdout + bad.stderr


def test_ncbi_url_api_database_may_name_several(env: dict[str, Any]) -> None:
    """Blast.cgi's DATABASE with several names separated by spaces, as NCBI allows."""
    client, dbs, work = env["client"], env["dbs"], env["work"]
    params = {
        "CMD": "Put",
        "PROGRAM": "blastn",
        "DATABASE": "16s-a  16s-b",
        "QUERY": (work / "q.fa").read_text(),
        "EXPECT": "1e-5",
        "HITLIST_SIZE": "40",
    }
    put = client.post("/blast/Blast.cgi", data=params)
    assert put.status_code == 200 and "RID = " in put.text, put.text
    newest = client.get("/api/jobs", params={"limit": 1}).json()["items"][0]
    assert newest["databases"] == ["16s-a", "16s-b"]
    wait_for_job(api_job(client), newest["id"])
    raw = raw_tsv("blastn", work / "q.fa", [dbs["16s-a"], dbs["16s-b"]], work)
    assert tsv(client, newest["id"]) == raw
    mixed = client.post("/blast/Blast.cgi", data={**params, "DATABASE": "16s-a prot-a"})
    assert "[mixed_database_molecules]" in mixed.text


def test_a_multi_database_job_takes_the_one_submit_lock_once(env: dict[str, Any]) -> None:
    """The submit lock is the cluster's (per namespace), whatever the job searches: a job of
    two databases waits for it like any job, then submits once and completes."""
    client, settings = env["client"], env["settings"]
    lock = client.app.state.runtime.lock
    key = submit_lock_key("local", "default", settings.lock_prefix)
    assert lock.acquire(key, "held-by-test:1", 60)
    try:
        body = {"program": "blastn", "databases": ["16s-a", "16s-b"], "query": "ACGT" * 40}
        response = client.post("/api/jobs", json=body)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while api_job(client)(job_id)["phase"] != "waiting_for_submit_slot":
            assert time.monotonic() < deadline, api_job(client)(job_id)
            time.sleep(0.1)
        waiting = api_job(client)(job_id)["waiting_for"]
        assert waiting["cluster"] == "local" and waiting["lock_key"] == key
    finally:
        lock.release(key, "held-by-test:1")
    done = wait_for_job(api_job(client), job_id)
    assert done["phase"] == "completed", done
    events = client.get(f"/api/jobs/{job_id}/events").json()["items"]
    submitted = [e for e in events if e["step"] == "submitting" and e["kind"] == "step_completed"]
    assert len(submitted) == 1, events


def test_the_jobs_list_finds_a_job_by_any_of_its_databases(env: dict[str, Any], nucl_job) -> None:
    client = env["client"]
    for q in ("16s-b", "16S-A"):
        found = client.get("/api/jobs", params={"q": q, "limit": 200}).json()["items"]
        assert nucl_job["id"] in {job["id"] for job in found}, q
    found = client.get("/api/jobs", params={"q": "prot-b", "limit": 200}).json()["items"]
    assert nucl_job["id"] not in {job["id"] for job in found}
