"""Databases that know their organisms, and searches within organisms (issue 12, part A).

A real makeblastdb database built through the API from 40 of the benchmark's 16S genes and
their real NCBI taxids (bench data's `16s-3000.taxid_map`), searched with `taxids` /
`negative_taxids`; each filtered job's hits are compared with raw `blastn -taxidlist` /
`-negative_taxidlist` given the same expanded set. Every bad input of this part gets its code.
Real BLAST+, the real embedded NCBI Taxonomy, a real single-node SLURM.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.config import ClusterConfig
from blastdeck.taxonomy import Taxonomy, read_taxid_list, write_taxid_list
from tests.conftest import api_job, make_settings, read_fasta, wait_for_job
from tests.support.bench_data import bench_16s_3000
from tests.support.slurm_cluster import PrivateSlurm, SlurmUnavailable
from tests.support.taxonomy_cache import embedded_cache

BENCH = bench_16s_3000()
SEQUENCES = 40
WITHOUT_TAXID = ("s000005", "s000011")  # left out of the map: sequences with no taxid
OPTIONS = {"evalue": 1e-30, "max_target_seqs": 100}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return write_source(tmp_path_factory.mktemp("taxa-source"))


def write_source(work: Path) -> dict[str, Any]:
    """The database FASTA, its taxid map (two sequences left out) and five queries."""
    records = read_fasta(BENCH / "16s-3000.fa")[:SEQUENCES]
    ids = [header.split()[0] for header, _ in records]
    taxids = dict(line.split() for line in (BENCH / "16s-3000.taxid_map").read_text().splitlines())
    (work / "db.fa").write_text("".join(f">{h}\n{s}\n" for h, s in records))
    lines = [f"{i}\t{taxids[i]}\n" for i in ids if i in taxids and i not in WITHOUT_TAXID]
    (work / "db.taxid_map").write_text("# seqid<TAB>taxid\n" + "".join(lines))
    picked = [records[i] for i in (0, 1, 4, 7, 30)]  # Mycobacterium, Bacillus, E. coli, ...
    (work / "query.fa").write_text("".join(f">q{n} {h}\n{s}\n" for n, (h, s) in enumerate(picked)))
    mapped = {i: int(taxids[i]) for i in ids if i in taxids and i not in WITHOUT_TAXID}
    return {"dir": work, "ids": ids, "taxids": mapped}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy(embedded_cache()[0])


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSlurm]:
    cluster = PrivateSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as exc:
        pytest.fail(f"could not start the private SLURM cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, source: dict[str, Any], slurm: PrivateSlurm
) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("taxa")
    hpc = ClusterConfig(
        name="hpc",
        engine="slurm",
        slots=2,
        settings={
            "slurm_conf": str(slurm.conf),
            "work_dir": str(root / "shared" / "work"),
            "scratch_dir": str(root / "shared" / "node-scratch"),
        },
    )
    settings = make_settings(root / "data", taxonomy_cache_dir=embedded_cache()[0], clusters=[hpc])
    with TestClient(create_app(settings)) as test_client:
        work = source["dir"]
        response = test_client.post(
            "/api/databases",
            data={"name": "sixteen"},
            files={
                "file": ("db.fa", (work / "db.fa").read_bytes(), "text/plain"),
                "taxid_map": ("db.taxid_map", (work / "db.taxid_map").read_bytes(), "text/plain"),
            },
        )
        assert response.status_code == 201, response.text
        plain = test_client.post(  # the same genes without taxids
            "/api/databases",
            data={"name": "plain"},
            files={"file": ("db.fa", (work / "db.fa").read_bytes(), "text/plain")},
        )
        assert plain.status_code == 201, plain.text
        yield test_client


def database(client: TestClient, name: str = "sixteen") -> dict[str, Any]:
    response = client.get(f"/api/databases/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def submit(
    client: TestClient, source: dict[str, Any], cluster: str = "local", **options: Any
) -> dict[str, Any]:
    body = {
        "program": "blastn",
        "database": "sixteen",
        "cluster": cluster,
        "query": (source["dir"] / "query.fa").read_text(),
        "options": {**OPTIONS, **options},
    }
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def run(client: TestClient, source: dict[str, Any], **options: Any) -> dict[str, Any]:
    job = submit(client, source, **options)
    done = wait_for_job(api_job(client), job["id"], timeout=180)
    assert done["phase"] == "completed", done
    return done


def job_rows(client: TestClient, job_id: str) -> set[tuple[str, ...]]:
    tsv = client.get(f"/api/jobs/{job_id}/download?format=tsv")
    assert tsv.status_code == 200, tsv.text
    header, *lines = tsv.text.splitlines()  # the download names its columns first
    assert header.startswith("qaccver\t")
    return {_key(line) for line in lines}


def _key(line: str) -> tuple[str, ...]:
    fields = line.split("\t")
    return fields[0], fields[1], fields[10], fields[11]  # query, subject, e-value, bit score


def raw_rows(client: TestClient, source: dict[str, Any], *extra: str) -> set[tuple[str, ...]]:
    prefix = Path(database(client)["path"])
    done = subprocess.run(
        ["blastn", "-db", prefix.name, "-query", str(source["dir"] / "query.fa"),
         "-evalue", "1e-30", "-max_target_seqs", "100", "-outfmt", "6", *extra],
        cwd=prefix.parent, capture_output=True, text=True, env={"BLASTDB": ".", "PATH": "/usr/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {_key(line) for line in done.stdout.splitlines()}


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    return body


# -- databases that know their organisms ---------------------------------------------------------


def test_a_database_built_with_a_taxid_map_shows_its_coverage(
    client: TestClient, source: dict[str, Any], taxonomy: Taxonomy
) -> None:
    db = database(client)
    mapped = source["taxids"]
    coverage = db["taxonomy"]
    assert db["sequences"] == SEQUENCES
    assert coverage["taxid_sequences"] == len(mapped) == SEQUENCES - len(WITHOUT_TAXID)
    assert coverage["distinct_taxids"] == len(set(mapped.values()))
    counts: dict[int, int] = {}
    for taxid in mapped.values():
        counts[taxid] = counts.get(taxid, 0) + 1
    top = coverage["top_organisms"][0]
    assert top["sequences"] == max(counts.values()) and counts[top["taxid"]] == top["sequences"]
    assert top["name"] == taxonomy.get(top["taxid"]).scientific_name
    # What makeblastdb stored agrees with the map, sequence by sequence.
    prefix = Path(db["path"])
    stored = subprocess.run(
        ["blastdbcmd", "-db", prefix.name, "-entry", "all", "-outfmt", "%a %T"],
        cwd=prefix.parent, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    in_db = {a: int(t) for a, t in (line.split() for line in stored if line)}
    assert {a: t for a, t in in_db.items() if t} == mapped
    listed = {d["name"]: d for d in client.get("/api/databases").json()["items"]}
    assert listed["sixteen"]["taxonomy"] == coverage
    assert listed["plain"]["taxonomy"]["taxid_sequences"] == 0
    # the demo's genes name their organisms too (blastdeck/demo/demo-16s.taxid_map), and so do
    # its proteins (demo-proteins.taxid_map: each UniProt entry's organism)
    assert listed["demo-16s"]["taxonomy"]["taxid_sequences"] == 189
    proteins = listed["demo-proteins"]["taxonomy"]
    assert (proteins["taxid_sequences"], proteins["distinct_taxids"]) == (8, 5)
    assert proteins["top_organisms"][0] == {"taxid": 9606, "name": "Homo sapiens", "sequences": 4}


def test_a_registered_database_has_its_taxids_read(client: TestClient, tmp_path: Path) -> None:
    """An existing v5 database (the bench one: 3,000 sequences) registered by path: its taxids
    read with blastdbcmd, no map needed; one without seqids (ordinal ids) too."""
    response = client.post(
        "/api/databases", json={"name": "bench3000", "path": str(BENCH / "16s-3000")}
    )
    assert response.status_code == 201, response.text
    coverage = response.json()["taxonomy"]
    mapped = dict(line.split() for line in (BENCH / "16s-3000.taxid_map").read_text().split("\n")
                  if line)  # fmt: skip
    assert coverage["taxid_sequences"] == len(mapped)
    assert coverage["distinct_taxids"] == len(set(mapped.values()))
    assert database(client, "bench3000")["taxonomy"] == coverage
    # makeblastdb without -parse_seqids: ordinal ids, no taxids
    (tmp_path / "plain.fa").write_text(">a\nACGTACGTACGTACGTACGT\n>b\nTTTTACGTACGTACGGGGGT\n")
    subprocess.run(
        ["makeblastdb", "-in", "plain.fa", "-dbtype", "nucl", "-out", "plain"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    response = client.post(
        "/api/databases", json={"name": "ordinal", "path": str(tmp_path / "plain")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["taxonomy"] == {
        "taxid_sequences": 0, "distinct_taxids": 0, "top_organisms": []
    }  # fmt: skip


def test_one_taxid_for_every_sequence(client: TestClient, source: dict[str, Any]) -> None:
    fasta = (source["dir"] / "db.fa").read_bytes()
    response = client.post(
        "/api/databases",
        data={"name": "allcoli", "taxid": "562"},
        files={"file": ("x.fa", fasta, "text/plain")},
    )
    assert response.status_code == 201, response.text
    coverage = response.json()["taxonomy"]
    assert coverage["taxid_sequences"] == SEQUENCES and coverage["distinct_taxids"] == 1
    assert coverage["top_organisms"] == [
        {"taxid": 562, "name": "Escherichia coli", "sequences": SEQUENCES}
    ]


def test_ncbi_style_seqids_get_their_taxids(client: TestClient, source: dict[str, Any]) -> None:
    """A map may name a sequence by its FASTA id or by one of its parts; makeblastdb matches
    only some forms (not a whole gi|..|gb|..| id), so BlastDeck hands it one that works and
    reads the taxids back."""
    sequences = [s for _, s in read_fasta(source["dir"] / "db.fa")[:4]]
    ids = ["gi|12345|gb|AB000001.1|", "ref|NM_000518.5|", "lcl|local7", "plain9"]
    fasta = "".join(f">{i} gene\n{s}\n" for i, s in zip(ids, sequences, strict=True))
    taxmap = "gi|12345|gb|AB000001.1|\t562\nNM_000518.5\t9606\nlcl|local7\t10090\nplain9\t1773\n"
    response = client.post(
        "/api/databases",
        data={"name": "ncbi-ids"},
        files={"file": ("n.fa", fasta, "text/plain"), "taxid_map": ("m", taxmap, "text/plain")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["taxonomy"]["taxid_sequences"] == 4
    prefix = Path(response.json()["path"])
    stored = subprocess.run(
        ["blastdbcmd", "-db", prefix.name, "-entry", "all", "-outfmt", "%T"],
        cwd=prefix.parent, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert stored == ["562", "9606", "10090", "1773"]


@pytest.mark.parametrize(
    ("map_text", "line", "says"),
    [
        ("s000000\t1773\ns000001 1396 extra\n", 2, "expected 'seqid<TAB>taxid'"),
        ("s000000\t1773\n\n# note\nnot_in_fasta\t562\n", 4, "no sequence of the FASTA"),
        ("s000000\tabc\n", 1, "is not a taxid"),
        ("s000000\t1773\ns000000\t562\n", 2, "already has a taxid (line 1)"),
        ("s000001\t2147000000\n", 1, "not in the NCBI Taxonomy"),
    ],
)
def test_a_bad_taxid_map_is_refused_naming_the_line(
    client: TestClient, source: dict[str, Any], map_text: str, line: int, says: str
) -> None:
    fasta = (source["dir"] / "db.fa").read_bytes()
    response = client.post(
        "/api/databases",
        data={"name": "badmap"},
        files={"file": ("x.fa", fasta, "text/plain"), "taxid_map": ("m", map_text, "text/plain")},
    )
    body = error(response, 422, "invalid_taxid_map")
    assert f"line {line}:" in body["message"] and says in body["message"], body
    assert body["detail"]["line"] == str(line)
    assert database(client, "sixteen")  # nothing stored, nothing changed
    assert client.get("/api/databases/badmap").status_code == 404


def test_an_unknown_single_taxid_and_both_map_and_taxid_are_refused(
    client: TestClient, source: dict[str, Any]
) -> None:
    fasta = (source["dir"] / "db.fa").read_bytes()
    files = {"file": ("x.fa", fasta, "text/plain")}
    error(client.post("/api/databases", data={"name": "u", "taxid": "2147000000"}, files=files),
          404, "unknown_taxon")  # fmt: skip
    both = {**files, "taxid_map": ("m", "s000000\t562\n", "text/plain")}
    error(client.post("/api/databases", data={"name": "u", "taxid": "562"}, files=both),
          422, "invalid_request")  # fmt: skip
    assert client.get("/api/databases/u").status_code == 404


# -- search within organisms ---------------------------------------------------------------------


def test_a_filtered_job_has_the_hits_of_raw_blastn_taxidlist(
    client: TestClient, source: dict[str, Any], taxonomy: Taxonomy, tmp_path: Path
) -> None:
    everything = raw_rows(client, source)
    job = run(client, source, taxids=["Bacillota", "1763"])  # a phylum and a genus (taxid)
    lists = taxonomy.expand(["Bacillota", 1763])
    write_taxid_list(tmp_path / "in.txt", lists.include)
    raw = raw_rows(client, source, "-taxidlist", str(tmp_path / "in.txt"))
    assert job_rows(client, job["id"]) == raw
    assert raw and len(raw) < len(everything)
    kept = set(lists.include.tolist())
    subjects = {s for _, s, _, _ in raw}
    assert subjects and all(source["taxids"].get(s) in kept for s in subjects)
    shown = job["taxon_filter"]
    assert shown["taxids"] == ["Bacillota", "1763"] and shown["negative_taxids"] == []
    assert shown["include_taxa"] == [1239, 1763] and shown["blast_option"] == "-taxidlist"
    names = [taxonomy.get(t).scientific_name for t in (1239, 1763)]
    assert shown["include_names"] == names and names[1] == "Mycobacterium"
    assert shown["exclude_names"] == []
    assert shown["expanded_taxids"] == len(lists.include) > 10_000
    listed = read_taxid_list(Path(database(client)["path"]).parents[2] / "jobs" / job["id"]
                             / "taxids.txt")  # fmt: skip
    assert shown["database_taxids"] == len(listed) and set(listed.tolist()) <= kept
    assert set(listed.tolist()) <= set(source["taxids"].values())
    assert "taxids" not in job["options"] and job["options"]["evalue"] == 1e-30
    # BLAST searches a fraction of the database: one batch per slot, not many shrinking ones
    slots = next(c["slots"] for c in client.get("/api/clusters").json()["items"]
                 if c["name"] == "local")  # fmt: skip
    assert job["progress"]["batches_total"] <= slots


def test_an_excluding_job_has_the_hits_of_raw_blastn_negative_taxidlist(
    client: TestClient, source: dict[str, Any], taxonomy: Taxonomy, tmp_path: Path
) -> None:
    job = run(client, source, negative_taxids="Archaea, Escherichia")
    lists = taxonomy.expand([], ["Archaea", "Escherichia"])
    write_taxid_list(tmp_path / "out.txt", lists.exclude)
    raw = raw_rows(client, source, "-negative_taxidlist", str(tmp_path / "out.txt"))
    assert job_rows(client, job["id"]) == raw
    dropped = set(lists.exclude.tolist())
    assert not any(source["taxids"].get(s) in dropped for _, s, _, _ in raw)
    assert any(source["taxids"].get(s) in dropped for _, s, _, _ in raw_rows(client, source))
    assert job["taxon_filter"]["blast_option"] == "-negative_taxidlist"


def _plan(client: TestClient, job_id: str) -> dict[str, Any]:
    jobs = Path(database(client)["path"]).parents[2] / "jobs"
    return json.loads((jobs / job_id / "plan.json").read_text())


def test_a_search_of_a_small_share_of_the_database_runs_a_thread_per_slot(
    client: TestClient, source: dict[str, Any], taxonomy: Taxonomy
) -> None:
    """The job says how many of the database's sequences its filter leaves BLAST (counted from
    the database's sequences per taxid), and a share of a tenth or less runs its processes
    with a thread per slot held; a bigger share, two (domain/search_split.py)."""
    slots = next(c["slots"] for c in client.get("/api/clusters").json()["items"]
                 if c["name"] == "local")  # fmt: skip
    assert slots == 2  # make_settings' local cluster: the rule is about 2 processes on 2 cores
    escherichia = set(taxonomy.expand(["Escherichia"]).include.tolist())
    few = sum(1 for t in source["taxids"].values() if t in escherichia)
    assert 0 < few <= SEQUENCES // 10  # a small share, else this tests the other branch
    small = run(client, source, taxids="Escherichia")
    shown = small["taxon_filter"]
    assert (shown["searched_sequences"], shown["database_sequences"]) == (few, SEQUENCES)
    plan = _plan(client, small["id"])
    assert [(b["threads"], b["slots"]) for b in plan["batches"]] == [(1, 1), (1, 1)]
    assert "one thread per slot held" in plan["split"] and f"{few / SEQUENCES:.1%}" in plan["split"]
    # Excluding Escherichia leaves every other sequence, those without a taxid too
    big = run(client, source, negative_taxids="Escherichia")
    assert big["taxon_filter"]["searched_sequences"] == SEQUENCES - few
    plan = _plan(client, big["id"])
    assert [(b["threads"], b["slots"]) for b in plan["batches"]] == [(2, 1), (2, 1)]
    assert "one thread per slot held" not in plan["split"]


def test_bacteria_hundreds_of_thousands_of_taxa_go_through_the_file(
    client: TestClient, source: dict[str, Any], tmp_path: Path
) -> None:
    job = run(client, source, taxids="2", negative_taxids="Escherichia coli")
    shown = job["taxon_filter"]
    assert shown["expanded_taxids"] > 400_000  # every bacterium but E. coli's subtree
    assert shown["database_taxids"] < 100
    plan = client.get(f"/api/jobs/{job['id']}/config").text
    assert "-taxidlist" in plan and len(plan) < 10_000  # a file, never a long command line
    kept = {s for _, s, _, _ in job_rows(client, job["id"])}
    assert kept and all(source["taxids"][s] not in (83334, 199310) for s in kept)  # E. coli


def test_a_filtered_job_on_slurm_has_the_hits_of_the_local_engine(
    client: TestClient, source: dict[str, Any]
) -> None:
    local = run(client, source, taxids="Bacillota")
    on_slurm = run(client, source, taxids="Bacillota", cluster="hpc")
    assert job_rows(client, on_slurm["id"]) == job_rows(client, local["id"])
    assert on_slurm["taxon_filter"] == local["taxon_filter"]
    preview = client.get(f"/api/jobs/{on_slurm['id']}/config").text
    assert "/shared/work/" + on_slurm["id"] + "/taxids.txt" in preview


@pytest.mark.parametrize(
    ("options", "status", "code", "says"),
    [
        ({"taxids": "2147000000"}, 404, "unknown_taxon", "No taxon has taxid 2147000000"),
        ({"taxids": "Escherichia colli"}, 404, "unknown_taxon", "Escherichia coli (562)"),
        ({"taxids": "Bacillus"}, 422, "ambiguous_taxon", "1386"),
        ({"taxids": "562", "negative_taxids": "Escherichia coli"}, 422,
         "taxon_filter_conflict", "both included and excluded"),
        ({"taxids": "Mus musculus"}, 422, "taxon_filter_empty", "sixteen"),
        ({"taxids": "Escherichia", "negative_taxids": "Enterobacteriaceae"}, 422,
         "taxon_filter_empty", "Nothing is left"),
        ({"taxids": ["Escherichia", 3.5]}, 422, "invalid_taxon_filter", "not float"),
        ({"taxids": "561", "database": "plain"}, 422, "database_without_taxids", "plain"),
    ],
)  # fmt: skip
def test_a_bad_filter_is_refused_and_stores_no_job(
    client: TestClient, source: dict[str, Any], options: dict, status: int, code: str, says: str
) -> None:
    before = client.get("/api/jobs").json()["total"]
    body = {
        "program": "blastn",
        "database": options.pop("database", "sixteen"),
        "query": (source["dir"] / "query.fa").read_text(),
        "options": options,
    }
    answer = error(client.post("/api/jobs", json=body), status, code)
    assert says in answer["message"], answer
    assert client.get("/api/jobs").json()["total"] == before
