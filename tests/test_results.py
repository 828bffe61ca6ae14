"""Hits and whole-job exports read from batch archives, checked against real BLAST+ runs.

Each fixture builds a small BLAST database from the bundled demo FASTA files, runs the same
queries as 1, 2 and 3 batches (one archive per batch, like a BlastDeck job) and the tests check
that every view of the results is independent of the batching.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import pytest

import blastdeck
from blastdeck.blast_tools import DatabaseDir, run_tool, tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.results.batch_indexing import completion_counts, index_finished
from blastdeck.results.exports import render_export
from blastdeck.results.formats import ExportFormat, parse_export_format
from blastdeck.results.hsp_index import (
    IndexCounts,
    batch_counts,
    index_batch_table,
    load_hsp_table,
    write_batch_index,
)
from blastdeck.results.hsps import (
    HSP_FIELDS,
    HSP_TABLE_OUTFMT,
    LEGACY_TABLE_COLUMNS,
    TABLE_COLUMNS,
    Hsp,
    HspColumns,
    count_table,
    query_cover,
    read_hsp_columns,
    read_hsps,
)
from blastdeck.results.tabular import STANDARD_COLUMNS

DEMO_DIR = Path(blastdeck.__file__).parent / "demo"
ODD_TITLE = "Odd \"quoted\" <tag> & back\\slash, 'apos'; Query= not a query"

Record = tuple[str, str]  # (defline without '>', sequence)


# -- building jobs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    table: Path  # the hit table BLAST wrote, as the engine has it run
    archive: Path
    query_ids: tuple[str, ...]
    query_offset: int


@dataclass(frozen=True)
class Job:
    """One set of queries searched under several batchings (name -> batches)."""

    program: str
    blastdb_dir: Path
    queries: tuple[Record, ...]
    batchings: dict[str, tuple[Batch, ...]]

    @property
    def query_ids(self) -> list[str]:
        return [first_word(defline) for defline, _ in self.queries]

    def archives(self, batching: str) -> list[Path]:
        return [b.archive for b in self.batchings[batching]]

    def tables(self, batching: str) -> list[Path]:
        return [b.table for b in self.batchings[batching]]


def first_word(defline: str) -> str:
    words = defline.split(maxsplit=1)
    return words[0] if words else ""


def read_fasta(path: Path) -> list[Record]:
    records: list[list[str]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            records.append([line[1:], ""])
        elif records:
            records[-1][1] += line.strip()
    return [(defline, seq) for defline, seq in records]


def write_fasta(path: Path, records: Sequence[Record]) -> Path:
    path.write_text("".join(f">{defline}\n{seq}\n" for defline, seq in records))
    return path


def make_db(directory: Path, name: str, records: Sequence[Record], dbtype: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fasta = write_fasta(directory / f"{name}.fa", records)
    run_tool(
        "makeblastdb",
        ["-in", str(fasta), "-dbtype", dbtype, "-parse_seqids", "-out", str(directory / name)],
    )
    return directory


def search(
    job_dir: Path,
    program: str,
    blastdb_dir: Path,
    db: str,
    queries: Sequence[Record],
    splits: Sequence[int],
    name: str,
    extra: Sequence[str] = (),
    batch_size: int | None = None,
) -> tuple[Batch, ...]:
    """Run `queries` as consecutive batches of the given sizes, one archive each."""
    assert sum(splits) == len(queries)
    batches, offset = [], 0
    for i, size in enumerate(splits):
        part = queries[offset : offset + size]
        fasta = write_fasta(job_dir / f"{name}_{i:03d}.fa", part)
        archive = job_dir / f"{name}_{i:03d}.asn"
        argv = [tool_path(program), "-query", str(fasta), "-db", db, "-outfmt", "11"]
        # BATCH_SIZE makes BLAST itself split its input into several archive records.
        where = DatabaseDir(blastdb_dir)
        env = where.env({"BATCH_SIZE": str(batch_size)} if batch_size else None)
        run = partial(subprocess.run, env=env, cwd=where.path, check=True)
        run([*argv, "-out", str(archive), *extra])
        table = archive.with_suffix(".hits.tsv")
        table_argv = [*argv[:-1], HSP_TABLE_OUTFMT, "-out", str(table), *extra]
        run(table_argv)
        ids = tuple(first_word(d) for d, _ in part)
        batches.append(Batch(table, archive, ids, offset))
        offset += size
    return tuple(batches)


@pytest.fixture(scope="module")
def nucl_job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    """16S demo: 60 sequences as the database; 7 queries, some with hits, one random."""
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    db_records = list(records[:60])
    db_id = first_word(db_records[3][0])
    db_records[3] = (f"{db_id} {ODD_TITLE}", db_records[3][1])  # titles may hold odd characters
    rng = random.Random(1234)
    queries = (
        records[3],  # a database member: hits
        ("random_control shuffled", "".join(rng.choice("ACGT") for _ in range(600))),
        records[100],
        ("dup copy of member 10", records[10][1]),  # two queries sharing an id, side by side
        ("dup copy of member 20", records[20][1]),
        records[150],
        records[5],
    )
    root = tmp_path_factory.mktemp("nucl")
    blastdb_dir = make_db(root / "db", "16s-demo", db_records, "nucl")
    run = (root, "blastn", blastdb_dir, "16s-demo", queries)
    batchings = {
        "1": search(*run, [7], "one"),
        "2": search(*run, [3, 4], "two"),
        "3": search(*run, [1, 1, 5], "three"),  # the middle batch has no hits at all
        "2-multi": search(*run, [3, 4], "multi", batch_size=1500),
    }
    return Job("blastn", blastdb_dir, queries, batchings)


@pytest.fixture(scope="module")
def prot_job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    """The 8 demo proteins as database; queries: all of them plus a shuffled one (no hits)."""
    proteins = read_fasta(DEMO_DIR / "demo-proteins.fa")
    rng = random.Random(99)
    shuffled = list(proteins[2][1])
    rng.shuffle(shuffled)
    queries = (*proteins, ("shuffled_gfp control", "".join(shuffled)))
    root = tmp_path_factory.mktemp("prot")
    blastdb_dir = make_db(root / "db", "demo-prot", proteins, "prot")
    run = (root, "blastp", blastdb_dir, "demo-prot", queries)
    extra = ["-evalue", "1e-5"]
    batchings = {
        "1": search(*run, [9], "one", extra),
        "3": search(*run, [3, 3, 3], "three", extra),
    }
    return Job("blastp", blastdb_dir, queries, batchings)


def job_hits(job: Job, batching: str) -> list[Hsp]:
    return [
        hit
        for b in job.batchings[batching]
        for hit in read_hsps(b.table, b.query_ids, b.query_offset)
    ]


def outfmt6_rows(archives: Sequence[Path], blastdb_dir: Path) -> list[str]:
    """What blast_formatter makes of the archives, one after another, as outfmt 6 rows."""
    rows: list[str] = []
    for archive in archives:
        text = run_tool(
            "blast_formatter",
            ["-archive", str(archive), "-outfmt", "6"],
            database_dir=DatabaseDir(blastdb_dir),
        )
        rows.extend(text.splitlines())
    return rows


@pytest.fixture(scope="module")
def nucl_exports(
    nucl_job: Job, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, ExportFormat], Path]:
    out_dir = tmp_path_factory.mktemp("nucl-exports")
    return {
        (batching, fmt): render_export(
            fmt,
            nucl_job.tables(batching),
            nucl_job.archives(batching),
            nucl_job.blastdb_dir,
            out_dir / f"{batching}.{fmt.extension}",
        )
        for batching in BATCHINGS
        for fmt in ExportFormat
    }


@pytest.fixture(scope="module")
def single_rows(nucl_job: Job, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The reference: what plain blastn prints (outfmt 6) for all the queries in one run."""
    fasta = write_fasta(tmp_path_factory.mktemp("raw") / "all.fa", nucl_job.queries)
    argv = ["-query", str(fasta), "-db", "16s-demo", "-outfmt", "6"]
    return run_tool("blastn", argv, database_dir=DatabaseDir(nucl_job.blastdb_dir)).splitlines()


BATCHINGS = ["1", "3", "2-multi"]  # "2" is covered by the read_hsps tests


# -- read_hsps -------------------------------------------------------------------------------


@pytest.mark.parametrize("batching", ["2", "3", "2-multi"])
def test_hits_do_not_depend_on_batching(nucl_job: Job, batching: str) -> None:
    assert job_hits(nucl_job, batching) == job_hits(nucl_job, "1")


def test_hits_sit_on_their_global_query(nucl_job: Job) -> None:
    hits = job_hits(nucl_job, "3")
    by_query: dict[int, list[Hsp]] = {}
    for hit in hits:
        by_query.setdefault(hit.query_index, []).append(hit)
    assert 1 not in by_query  # the random control
    assert {0, 3, 4, 6} <= set(by_query)
    assert all(hit.query_id == nucl_job.query_ids[hit.query_index] for hit in hits)
    # The two "dup" queries are told apart by position, not by id: each finds its own source.
    records = read_fasta(DEMO_DIR / "demo-16s.fa")
    member_10, member_20 = first_word(records[10][0]), first_word(records[20][0])
    # 16S genes resemble each other, so both find both; each one's best hit is its own source.
    best_3 = max(by_query[3], key=lambda h: h.bitscore)
    best_4 = max(by_query[4], key=lambda h: h.bitscore)
    assert (best_3.subject_id, best_3.pident) == (member_10, 100.0)
    assert (best_4.subject_id, best_4.pident) == (member_20, 100.0)


def test_hit_fields_are_typed(nucl_job: Job) -> None:
    top = job_hits(nucl_job, "1")[0]  # query 0 against itself in the database
    assert [f for f in Hsp.__dataclass_fields__ if f != "query_index"] == list(HSP_FIELDS)
    assert top.query_index == 0
    assert top.subject_title == ODD_TITLE
    assert top.pident == 100.0 and top.mismatch == 0 and top.gapopen == 0
    assert top.length == top.qlen == top.slen == len(nucl_job.queries[0][1])
    assert (top.qstart, top.sstart) == (1, 1) and top.qcovhsp == 100
    assert isinstance(top.evalue, float) and isinstance(top.bitscore, float)


def test_zero_hit_batch_reads_as_no_hits(nucl_job: Job) -> None:
    batch = nucl_job.batchings["3"][1]
    assert read_hsps(batch.table, batch.query_ids, 1) == []


def test_read_hits_refuses_a_query_list_that_does_not_match(nucl_job: Job) -> None:
    batch = nucl_job.batchings["2"][0]
    for wrong in (batch.query_ids[:-1], ("someone_else", *batch.query_ids[1:])):
        with pytest.raises(BlastDeckError) as info:
            read_hsps(batch.table, wrong, 0)
        assert info.value.code is ErrorCode.EXPORT_FAILED


def test_read_hits_accepts_ids_blast_rewrites(nucl_job: Job, tmp_path: Path) -> None:
    query = [("Séq_ü1 non-ASCII id", nucl_job.queries[0][1])]
    (batch,) = search(tmp_path, "blastn", nucl_job.blastdb_dir, "16s-demo", query, [1], "u")
    hits = read_hsps(batch.table, ["Séq_ü1"], 5)
    assert hits and {(h.query_id, h.query_index) for h in hits} == {("Séq_ü1", 5)}


def _legacy_table(table: Path, out: Path) -> Path:
    """The table as a release before qcovs/staxid wrote it: 17 fields per row."""
    fields_line = "# Fields: "
    lines = []
    for line in table.read_text().splitlines():
        if line.startswith(fields_line):
            names = line[len(fields_line) :].split(", ")
            line = fields_line + ", ".join(names[: len(LEGACY_TABLE_COLUMNS)])
        elif line and not line.startswith("#"):
            line = "\t".join(line.split("\t")[: -(len(TABLE_COLUMNS) - len(LEGACY_TABLE_COLUMNS))])
        lines.append(line)
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("batching", ["1", "3"])
def test_legacy_tables_read_with_blasts_query_cover(
    nucl_job: Job, batching: str, tmp_path: Path
) -> None:
    """A table of the previous release has no qcovs/staxid: qcovs is derived exactly as BLAST
    computes it (checked here against BLAST's own column), staxid is unknown (0)."""
    for b in nucl_job.batchings[batching]:
        new = read_hsps(b.table, b.query_ids, b.query_offset)
        legacy = read_hsps(
            _legacy_table(b.table, tmp_path / b.table.name), b.query_ids, b.query_offset
        )
        assert [replace(h, staxid=0) for h in new] == legacy
    assert any(h.qcovs not in (0, 100) for h in job_hits(nucl_job, batching))


def test_query_cover_rounds_as_blast_does() -> None:
    assert query_cover(1505, 1506) == 99  # 99.93%: never 100 while a base is uncovered
    assert query_cover(1506, 1506) == 100
    assert query_cover(1499, 1506) == 99 and query_cover(745, 1000) == 75
    assert query_cover(744, 1000) == 74 and query_cover(0, 0) == 0


@pytest.mark.parametrize("batching", ["1", "3"])
def test_columnar_index_round_trips_every_hsp(nucl_job: Job, batching: str, tmp_path: Path) -> None:
    expected = job_hits(nucl_job, batching)
    for i, b in enumerate(nucl_job.batchings[batching]):
        hsps = read_hsps(b.table, b.query_ids, b.query_offset)
        write_batch_index(tmp_path, i, b.query_offset, b.query_ids, hsps)
    table = load_hsp_table(tmp_path)
    assert len(table) == len(expected)
    rows = [table.row(i) for i in range(len(table))]
    assert [Hsp(**{k: r[k] for k in ("query_index", *HSP_FIELDS)}) for r in rows] == expected
    assert table.query_ids == dict(enumerate(nucl_job.query_ids))


@pytest.mark.parametrize("which", ["nucl", "prot"])
def test_columnar_reader_equals_the_per_hsp_reader(
    nucl_job: Job, prot_job: Job, which: str, tmp_path: Path
) -> None:
    """What the pipeline indexes (read_hsp_columns) is, value for value, what read_hsps reads:
    every batching, subjects coded in the same order; a legacy table falls back (None)."""
    job = nucl_job if which == "nucl" else prot_job
    for batching, batches in job.batchings.items():
        for b in batches:
            columns = read_hsp_columns(b.table, b.query_ids, b.query_offset)
            expected = HspColumns.of(read_hsps(b.table, b.query_ids, b.query_offset))
            assert columns is not None and _plain(columns) == _plain(expected), batching
            legacy = _legacy_table(b.table, tmp_path / f"{batching}-{b.table.name}")
            from_legacy = read_hsp_columns(legacy, b.query_ids, b.query_offset)
            # a table without HSPs has no "# Fields:" line: nothing to derive either way
            hsps_in_batch = bool(columns and columns.query_index)
            assert from_legacy is None if hsps_in_batch else _plain(from_legacy) == _plain(columns)
    assert any(len(read_hsps(b.table, b.query_ids, 0)) for b in job.batchings["1"])


def _plain(columns: HspColumns | None) -> object:
    assert columns is not None
    numbers = {k: (v.dtype.kind, v.tolist()) for k, v in columns.numbers.items()}
    return replace(columns, numbers=numbers)  # type: ignore[arg-type]


def test_columnar_reader_takes_any_line_end(nucl_job: Job, tmp_path: Path) -> None:
    """\\r\\n and \\r end lines as \\n does (a file iterated with newline="" splits there)."""
    (batch,) = nucl_job.batchings["1"]
    plain = read_hsp_columns(batch.table, batch.query_ids, 3)
    for end in ("\r\n", "\r"):
        copy = tmp_path / f"table-{len(end)}.tsv"
        copy.write_bytes(batch.table.read_bytes().replace(b"\n", end.encode()))
        assert _plain(read_hsp_columns(copy, batch.query_ids, 3)) == _plain(plain)


def test_columnar_reader_refuses_what_read_hsps_refuses(nucl_job: Job, tmp_path: Path) -> None:
    (batch,) = nucl_job.batchings["1"]
    with pytest.raises(BlastDeckError, match="in the batch list"):
        read_hsp_columns(batch.table, ["wrong", *batch.query_ids[1:]], 0)
    with pytest.raises(BlastDeckError, match="but the batch lists"):
        read_hsp_columns(batch.table, [*batch.query_ids, "extra"], 0)
    broken = tmp_path / "broken.tsv"
    lines = batch.table.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[row].split("\t")
    fields[TABLE_COLUMNS.index("evalue")] = "not-a-number"
    broken.write_text("".join([*lines[:row], "\t".join(fields), *lines[row + 1 :]]))
    with pytest.raises(BlastDeckError, match="unreadable evalue"):
        read_hsp_columns(broken, batch.query_ids, 0)
    short = tmp_path / "short.tsv"
    short.write_text("".join([*lines[:row], "a\tb\n", *lines[row + 1 :]]))
    with pytest.raises(BlastDeckError, match="unreadable HSP row"):
        read_hsp_columns(short, batch.query_ids, 0)


@pytest.mark.parametrize("which", ["nucl", "prot"])
def test_a_counted_table_has_the_hsps_and_hits_of_its_index(
    nucl_job: Job, prot_job: Job, which: str, tmp_path: Path
) -> None:
    """What a job's completion counts of a batch it did not index (count_table) is what the
    batch's index file keeps (two queries sharing an id are two queries); mixed with indexed
    batches (completion_counts), every batching's counts are those of all of them indexed."""
    job = nucl_job if which == "nucl" else prot_job
    for batching, batches in job.batchings.items():
        everything, mixed = tmp_path / f"all-{batching}", tmp_path / f"mixed-{batching}"
        finished = [
            FinishedBatch(i, b.table, b.query_ids, b.query_offset) for i, b in enumerate(batches)
        ]
        for b in finished:
            alone = tmp_path / f"alone-{batching}-{b.index}"
            index_batch_table(alone, 0, b.table, b.query_ids, b.query_offset)
            assert IndexCounts(*count_table(b.table, b.query_ids)) == batch_counts(alone)
            index_batch_table(everything, b.index, b.table, b.query_ids, b.query_offset)
        index_finished(mixed, finished[:1])  # the first indexed while the others ran
        assert completion_counts(mixed, finished) == batch_counts(everything), batching
        assert batch_counts(everything).hsps > 0


def test_a_counted_table_is_checked_as_an_indexed_one(nucl_job: Job, tmp_path: Path) -> None:
    (batch,) = nucl_job.batchings["1"]
    with pytest.raises(BlastDeckError, match="in the batch list"):
        count_table(batch.table, ["wrong", *batch.query_ids[1:]])
    with pytest.raises(BlastDeckError, match="but the batch lists"):
        count_table(batch.table, [*batch.query_ids, "extra"])
    lines = batch.table.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    short = tmp_path / "short.tsv"
    short.write_text("".join([*lines[:row], "a\tb\n", *lines[row + 1 :]]))
    with pytest.raises(BlastDeckError, match="unreadable HSP row") as refused:
        count_table(short, batch.query_ids)
    assert refused.value.code is ErrorCode.EXPORT_FAILED
    early = tmp_path / "early.tsv"
    early.write_text("".join([lines[row], *lines]))
    with pytest.raises(BlastDeckError, match="before any query"):
        count_table(early, batch.query_ids)
    # A tab inside a subject title is still one row of that subject.
    fields = lines[row].split("\t")
    fields[TABLE_COLUMNS.index("stitle")] += "\twith a tab"
    tabbed = tmp_path / "tabbed.tsv"
    tabbed.write_text("".join([*lines[:row], "\t".join(fields), *lines[row + 1 :]]))
    assert count_table(tabbed, batch.query_ids) == count_table(batch.table, batch.query_ids)
    legacy = _legacy_table(batch.table, tmp_path / "legacy.tsv")
    assert count_table(legacy, batch.query_ids) is None  # indexed instead (read_hsps)


@dataclass(frozen=True)
class FinishedBatch:  # a batch as the engines collect it (engines.base.BatchResult)
    index: int
    table: Path
    query_ids: tuple[str, ...]
    query_offset: int


def test_protein_hits_do_not_depend_on_batching(prot_job: Job) -> None:
    hits = job_hits(prot_job, "3")
    assert hits == job_hits(prot_job, "1")
    assert {h.query_index for h in hits} == set(range(8))  # not the shuffled control


# -- exports: one whole document per format -------------------------------------------------


@pytest.mark.parametrize("batching", BATCHINGS)
def test_tsv_is_header_plus_single_batch_rows(
    single_rows: list[str], nucl_exports: dict, batching: str
) -> None:
    lines = nucl_exports[batching, ExportFormat.TSV].read_text().splitlines()
    assert lines[0].split("\t") == list(STANDARD_COLUMNS)
    assert lines[1:] == single_rows
    assert len(lines) > 5


@pytest.mark.parametrize("batching", BATCHINGS)
def test_csv_parses_to_the_same_table(
    single_rows: list[str], nucl_exports: dict, batching: str
) -> None:
    with nucl_exports[batching, ExportFormat.CSV].open(newline="") as fh:
        table = list(csv.reader(fh))
    assert table == [list(STANDARD_COLUMNS), *(row.split("\t") for row in single_rows)]


def formatted_in_one_batch(job: Job, outfmt: str) -> str:
    """What blast_formatter makes of the archive of the job run as one batch."""
    (archive,) = job.archives("1")
    argv = ["-archive", str(archive), "-outfmt", outfmt]
    return run_tool("blast_formatter", argv, database_dir=DatabaseDir(job.blastdb_dir))


@pytest.mark.parametrize("batching", BATCHINGS)
def test_json_is_one_document_with_a_report_per_query(
    nucl_job: Job, nucl_exports: dict, batching: str
) -> None:
    document = json.loads(nucl_exports[batching, ExportFormat.JSON].read_text())
    searches = [r["report"]["results"]["search"] for r in document["BlastOutput2"]]
    assert [first_word(s.get("query_title", "")) for s in searches] == nucl_job.query_ids
    assert len({s["query_id"] for s in searches}) == len(searches)
    assert not searches[1].get("hits")  # the random control


@pytest.mark.parametrize("batching", BATCHINGS)
def test_json_is_what_one_blast_run_writes(
    nucl_job: Job, nucl_exports: dict, batching: str
) -> None:
    """A job of one batch gets the bytes of BLAST's own JSON. With several batches every query
    has the same hits and HSPs (scores, e-values, coordinates, alignments' lengths) as one
    BLAST run of all the queries; only what BLAST computes per set of queries it searched
    together can differ: the effective search space and length adjustment it reports, and
    which letters of the query it shows masked."""
    single = formatted_in_one_batch(nucl_job, "15")
    ours = nucl_exports[batching, ExportFormat.JSON].read_text()
    if batching == "1":
        assert ours == single
    fields = (
        "bit_score",
        "score",
        "evalue",
        "identity",
        "query_from",
        "query_to",
        "hit_from",
        "hit_to",
        "align_len",
        "gaps",
    )

    def hsps(text: str) -> list[tuple]:
        return [
            (
                report["report"]["results"]["search"]["query_id"],
                hit["description"][0]["id"],
                *(hsp[f] for f in fields),
            )
            for report in json.loads(text)["BlastOutput2"]
            for hit in report["report"]["results"]["search"].get("hits", [])
            for hsp in hit["hsps"]
        ]

    assert hsps(ours) == hsps(single) and len(hsps(single)) > 10


@pytest.mark.parametrize("batching", BATCHINGS)
def test_xml2_lays_out_its_reports_as_one_blast_run(
    nucl_job: Job, nucl_exports: dict, batching: str
) -> None:
    """XML2 (outfmt 16) of a job of several batches opens and closes each query's report, and
    leaves the blank line between two reports, where one BLAST run's does (found by the random
    searches: the line was missing between the reports of two batches)."""
    single = formatted_in_one_batch(nucl_job, "16")
    ours = nucl_exports[batching, ExportFormat.XML2].read_text()
    frame = ("", "<BlastOutput2>", "</BlastOutput2>", "<BlastXML2", "</BlastXML2>")

    def layout(text: str) -> list[str]:
        return [line for line in text.split("\n") if line in frame]

    assert layout(ours) == layout(single)
    assert layout(single).count("<BlastOutput2>") == len(nucl_job.queries) > 2


@pytest.mark.parametrize("batching", BATCHINGS)
def test_xml_is_one_document_numbered_across_the_job(
    nucl_job: Job, nucl_exports: dict, batching: str
) -> None:
    path = nucl_exports[batching, ExportFormat.XML]
    assert path.read_text().splitlines()[1].startswith("<!DOCTYPE BlastOutput ")
    assert_blast_xml(path, nucl_job)


def assert_blast_xml(path: Path, job: Job) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "BlastOutput"
    iterations = root.findall("BlastOutput_iterations/Iteration")
    numbers = [int(it.findtext("Iteration_iter-num", "")) for it in iterations]
    query_ids = [it.findtext("Iteration_query-ID") for it in iterations]
    titles = [first_word(it.findtext("Iteration_query-def", "")) for it in iterations]
    assert numbers == list(range(1, len(job.queries) + 1))
    assert len(set(query_ids)) == len(query_ids)
    assert titles == job.query_ids


@pytest.mark.parametrize("batching", BATCHINGS)
def test_text_has_prolog_and_footer_once(nucl_job: Job, nucl_exports: dict, batching: str) -> None:
    assert_pairwise_text(nucl_exports[batching, ExportFormat.TEXT], nucl_job)


def assert_pairwise_text(path: Path, job: Job) -> None:
    lines = path.read_text().splitlines()
    banner = lines[0]
    assert banner.startswith(job.program.upper() + " ")
    assert lines.count(banner) == 1
    assert sum(line.startswith("Reference: ") for line in lines) == 1
    assert sum(line.startswith("  Database: ") for line in lines) == 1
    assert sum(line.startswith("Matrix: ") for line in lines) == 1
    assert lines[-1].startswith(("Gap Penalties", "Window for multiple hits"))
    sections = [first_word(line[len("Query=") :]) for line in lines if line.startswith("Query=")]
    assert sections == job.query_ids
    assert sum("No hits found" in line for line in lines) >= 1


@pytest.mark.parametrize("batching", ["3", "2-multi"])
def test_asn1_is_one_merged_archive_blast_formatter_reads(
    nucl_job: Job, single_rows: list[str], nucl_exports: dict, batching: str
) -> None:
    merged = nucl_exports[batching, ExportFormat.ASN1]
    assert merged.read_text().count("Blast4-archive ::=") == 1
    rows = outfmt6_rows([merged], nucl_job.blastdb_dir)
    assert rows == outfmt6_rows(nucl_job.archives(batching), nucl_job.blastdb_dir)
    assert rows == single_rows
    # Formatted again, the merged archive is one job-wide document too.
    xml_path = merged.with_suffix(".again.xml")
    run_tool(
        "blast_formatter",
        ["-archive", str(merged), "-outfmt", "5"],
        database_dir=DatabaseDir(nucl_job.blastdb_dir),
        stdout_path=xml_path,
    )
    assert_blast_xml(xml_path, nucl_job)


def test_multi_record_batches_are_really_multi_record(nucl_job: Job) -> None:
    # Guards the "2-multi" cases above: BLAST split each batch into several archive records.
    for archive in nucl_job.archives("2-multi"):
        assert archive.read_text().count("Blast4-archive ::=") > 1


def test_asn1_of_one_batch_is_a_copy(nucl_job: Job, nucl_exports: dict) -> None:
    copy = nucl_exports["1", ExportFormat.ASN1]
    assert copy.read_bytes() == nucl_job.archives("1")[0].read_bytes()


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_job_without_any_hit_exports(nucl_job: Job, tmp_path: Path, fmt: ExportFormat) -> None:
    batch = nucl_job.batchings["3"][1]  # the random control alone
    out = render_export(
        fmt, [batch.table], [batch.archive], nucl_job.blastdb_dir, tmp_path / "none"
    )
    text = out.read_text()
    if fmt is ExportFormat.TSV:
        assert text == "\t".join(STANDARD_COLUMNS) + "\n"
    elif fmt is ExportFormat.JSON:
        assert len(json.loads(text)["BlastOutput2"]) == 1
    elif fmt is ExportFormat.XML:
        assert len(ET.parse(out).getroot().findall(".//Iteration")) == 1
    elif fmt is ExportFormat.TEXT:
        assert "***** No hits found *****" in text
    assert text


def test_protein_exports_merge_too(prot_job: Job, tmp_path: Path) -> None:
    archives = prot_job.archives("3")
    exports = {
        fmt: render_export(
            fmt,
            prot_job.tables("3"),
            archives,
            prot_job.blastdb_dir,
            tmp_path / f"p.{fmt.extension}",
        )
        for fmt in (ExportFormat.ASN1, ExportFormat.XML, ExportFormat.TEXT, ExportFormat.JSON)
    }
    single = outfmt6_rows(prot_job.archives("1"), prot_job.blastdb_dir)
    assert outfmt6_rows([exports[ExportFormat.ASN1]], prot_job.blastdb_dir) == single
    assert_blast_xml(exports[ExportFormat.XML], prot_job)
    assert_pairwise_text(exports[ExportFormat.TEXT], prot_job)
    assert len(json.loads(exports[ExportFormat.JSON].read_text())["BlastOutput2"]) == 9


# -- writing and naming ----------------------------------------------------------------------


def test_export_leaves_only_the_finished_file(nucl_job: Job, tmp_path: Path) -> None:
    out = render_export(
        ExportFormat.ASN1,
        nucl_job.tables("3"),
        nucl_job.archives("3"),
        nucl_job.blastdb_dir,
        tmp_path / "job.asn",
    )
    assert out == tmp_path / "job.asn"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.asn"]


@pytest.mark.parametrize("fmt", [ExportFormat.TSV, ExportFormat.ASN1])
def test_failed_export_keeps_the_old_file_and_no_debris(
    nucl_job: Job, tmp_path: Path, fmt: ExportFormat
) -> None:
    broken = tmp_path / "broken.asn"
    broken.write_text("this is not an archive\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "job.export"
    out.write_text("previous export\n")
    with pytest.raises(BlastDeckError) as info:
        render_export(
            fmt,
            [nucl_job.tables("2")[0], broken],
            [nucl_job.archives("2")[0], broken],
            nucl_job.blastdb_dir,
            out,
        )
    assert info.value.code is ErrorCode.EXPORT_FAILED
    assert out.read_text() == "previous export\n"
    assert [p.name for p in out_dir.iterdir()] == ["job.export"]


def test_no_archives_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(BlastDeckError) as info:
        render_export(ExportFormat.TSV, [], [], tmp_path, tmp_path / "x.tsv")
    assert info.value.code is ErrorCode.EXPORT_FAILED


def test_parse_export_format() -> None:
    assert parse_export_format(" JSON ") is ExportFormat.JSON
    assert parse_export_format("asn1") is ExportFormat.ASN1
    with pytest.raises(BlastDeckError) as info:
        parse_export_format("docx")
    assert info.value.code is ErrorCode.UNKNOWN_FORMAT
    assert all(f.value in info.value.message for f in ExportFormat)


def test_unknown_format_name_in_render_export(tmp_path: Path) -> None:
    with pytest.raises(BlastDeckError) as info:
        render_export("docx", [], [tmp_path / "a.asn"], tmp_path, tmp_path / "x")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.UNKNOWN_FORMAT


def test_formats_have_media_types_and_extensions() -> None:
    assert ExportFormat.CSV.media_type == "text/csv"
    assert ExportFormat.JSON.media_type == "application/json"
    assert ExportFormat.TEXT.extension == "txt"
    assert len({f.extension for f in ExportFormat}) == len(ExportFormat)
    assert all("/" in f.media_type for f in ExportFormat)
