"""Importing a BLAST result made elsewhere as a job (`POST /api/jobs/import`, `blastdeck import`).

Two kinds of file, told apart by their content:

- **BLAST XML** (`-outfmt 5`): read as a stream (`results/blast_xml.py`), one query at a time,
  into the job's HSP index (a batch file every `BATCH_HSPS` HSPs) and its per-query alignment
  files; the file itself is kept as the job's XML download. The other downloads cannot be made
  exactly from XML (no archive to format), so they answer `format_unavailable` (409).
- **BLAST archive** (`-outfmt 11`): `blast_formatter` writes its hit table (the same columns a
  search here writes), which is indexed like a search's one batch; the archive is kept, and
  every download is formatted from it as for any job. `blast_formatter` needs the database the
  archive searched, so it must be registered here, and the archive must come from this BLAST+
  version (its `ident`).

Nothing is stored unless the whole file was read: the job is built in a hidden directory under
the jobs dir, renamed into place, and only then is its row written (completed, with its steps
as the import did them: Prepare reads the file, the BLAST steps are skipped with why, Export
indexes). Any failure removes the directory, so a refused file leaves no job and no files.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from blastdeck.auth import EVERYONE, Viewer
from blastdeck.blast_tools import BlastToolError, DatabaseDir, database_arg, run_tool
from blastdeck.config import Settings
from blastdeck.databases import DatabaseCatalog
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import STEPS, Step, StepStatus
from blastdeck.domain.programs import Program
from blastdeck.domain.wording import counted, hits_and_hsps
from blastdeck.engines.base import BatchResult, JobResults
from blastdeck.results import alignments, final_index
from blastdeck.results.blast_xml import BlastXmlReader, XmlHeader
from blastdeck.results.hits import hit_table
from blastdeck.results.hsp_index import HspTable, index_version, write_batch_index
from blastdeck.results.hsps import (
    HSP_FIELDS,
    HSP_TABLE_OUTFMT,
    Hsp,
    read_hsps,
    table_rows,
    write_hsp_table,
)
from blastdeck.store.job_imports import StepRecord, create_imported
from blastdeck.store.jobs import JobStore
from blastdeck.store.models import BlastDatabase, Job, utcnow
from blastdeck.store.new_job import NewJob

BATCH_HSPS = 50_000  # HSPs per index batch file while an XML file is read
IMPORT_DIR = "import"  # beside the index: the archive and its hit table
ARCHIVE_FILE = "results.asn"
TABLE_FILE = "hits.tsv"
XML_DOWNLOAD = "results.xml"  # exports/: the uploaded XML is the job's XML download
SOURCE_FILE = "source.json"  # what was imported (kind, BLAST version, database as named)
_HEAD_BYTES = 4096
STALE_AFTER_S = 86_400  # a draft or spooled upload this old was left by a process that died
MAX_TITLE_CHARS = 200  # as a submitted job's (job_service.py)
_ARCHIVE_MAGIC = b"Blast4-archive ::="
_IDENT = re.compile(r'^\s*ident "([^"]*)"')
_PROGRAM = re.compile(r'^\s*program "([^"]*)"')
_SUBJECT_DB = re.compile(r'^\s*subject database "([^"]*)"')
_LENGTH = re.compile(r"^\s*length (\d+),?\s*$")


def detect_kind(path: Path) -> str:
    """'xml' or 'archive', from the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise BlastDeckError(ErrorCode.EMPTY_FILE, "The file is empty.", field="file")
    if text.startswith(_ARCHIVE_MAGIC):
        return "archive"
    if text.startswith(b"<"):
        return "xml"
    raise BlastDeckError(
        ErrorCode.IMPORT_NOT_BLAST,
        "This file is neither BLAST XML (-outfmt 5) nor a BLAST archive (-outfmt 11).",
        field="file",
    )


@dataclass
class _Draft:
    """A job being imported: its hidden directory and what was learnt so far."""

    job_id: str
    work_dir: Path
    steps: list[StepRecord] = field(default_factory=list)
    query_count: int = 0
    query_letters: int = 0


class ImportService:
    def __init__(self, settings: Settings, jobs: JobStore, databases: DatabaseCatalog) -> None:
        self._settings = settings
        self._jobs = jobs
        self._databases = databases
        self._swept = False

    def _sweep_leftovers(self) -> None:
        """Once per process: remove the drafts and spooled uploads a process that died while
        importing left behind (a day old: no import takes that long)."""
        if self._swept:
            return
        self._swept = True
        cutoff = time.time() - STALE_AFTER_S
        with contextlib.suppress(OSError), os.scandir(self._settings.jobs_dir) as entries:
            for entry in entries:
                if entry.name.startswith((".import-", ".upload-")):
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            _remove(Path(entry.path))

    def import_file(
        self,
        path: Path,
        viewer: Viewer = EVERYONE,
        *,
        title: str | None = None,
        filename: str = "",
        take: bool = False,
    ) -> Job:
        """Import the BLAST result at `path` as a completed job owned by the viewer. With `take`
        the file is moved into the job (an upload spooled in the data dir), else copied."""
        self._sweep_leftovers()
        if title and len(title) > MAX_TITLE_CHARS:  # refused, not cut: as a search's title
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"The title has {len(title):,} characters; at most {MAX_TITLE_CHARS} are allowed.",
                field="title",
            )
        kind = detect_kind(path)
        job_id = str(uuid.uuid4())
        jobs_dir = self._settings.jobs_dir
        jobs_dir.mkdir(parents=True, exist_ok=True)
        draft = _Draft(job_id, jobs_dir / f".import-{job_id}")
        target = jobs_dir / job_id
        try:
            draft.work_dir.mkdir()
            read = self._read_xml if kind == "xml" else self._read_archive
            header, database = read(path, draft, viewer, take)
            started = utcnow()
            final_index.finalize(draft.work_dir)
            table = final_index.load_final(draft.work_dir)
            final_index.drop_batch_files(draft.work_dir)
            if kind == "xml":  # what the table downloads read (tsv, csv, table columns)
                _write_hit_table(draft.work_dir / IMPORT_DIR / TABLE_FILE, table, draft)
            hsps, hits = len(table), len(hit_table(table))
            _record(draft, Step.EXPORTING_RESULTS, started, f"{hits_and_hsps(hits, hsps)} indexed")
            _record(draft, Step.COMPLETED, utcnow(), "imported")
            os.rename(draft.work_dir, target)
            new = NewJob(
                title=_title(title, filename, header, draft),
                program=header.program,
                database=database,
                cluster="imported",
                namespace="imported",
                options={},
                query_fasta="",
                query_count=draft.query_count,
                query_letters=draft.query_letters,
                owner_id=viewer.user_id,
            )
            what = "BLAST XML" if kind == "xml" else "BLAST archive"
            message = f"imported {what} of {counted(draft.query_count, 'query')} against {database}"
            return create_imported(self._jobs, job_id, new, draft.steps, hsps, hits, message)
        except BaseException:
            shutil.rmtree(draft.work_dir, ignore_errors=True)
            shutil.rmtree(target, ignore_errors=True)
            raise

    # -- BLAST XML -----------------------------------------------------------------------------

    def _read_xml(
        self, path: Path, draft: _Draft, viewer: Viewer, take: bool
    ) -> tuple[XmlHeader, str]:
        started = utcnow()
        align_dir = draft.work_dir / "exports" / "alignments"
        align_dir.mkdir(parents=True)
        subjects: set[str] = set()
        batch: list[Hsp] = []
        ids: list[str] = []
        offset = batches = 0
        with path.open("rb") as stream:
            reader = BlastXmlReader(stream)
            for query in reader.queries():
                ids.append(query.query_id)
                batch.extend(query.hsps)
                draft.query_count += 1
                draft.query_letters += query.length
                subjects.update(h.subject_id for h in query.hsps)
                if query.alignments:
                    alignments.write_query_alignments(align_dir, query.index, query.alignments)
                if len(batch) >= BATCH_HSPS:
                    write_batch_index(draft.work_dir, batches, offset, ids, batch)
                    batches, offset, ids, batch = batches + 1, offset + len(ids), [], []
        header = reader.header
        if draft.query_count == 0:
            raise BlastDeckError(
                ErrorCode.IMPORT_MALFORMED,
                "The BLAST XML holds no query report (no <Iteration>). Nothing was imported.",
                field="file",
            )
        if ids:
            write_batch_index(draft.work_dir, batches, offset, ids, batch)
        (align_dir / alignments.DONE_MARKER).write_text("")
        _check_program(header.program)
        row = self._registered(header.database, viewer)
        if row is not None and row.taxid_sequences:
            _add_taxids(draft.work_dir, row, subjects)
        xml_copy = draft.work_dir / "exports" / XML_DOWNLOAD
        shutil.move(path, xml_copy) if take else shutil.copyfile(path, xml_copy)
        _write_source(draft.work_dir, "xml", header, row)
        queries = counted(draft.query_count, "query")
        done = f"read BLAST XML from {header.version or 'BLAST'}: {queries}"
        _record(draft, Step.PREPARING, started, done)
        _skip_blast_steps(draft, header.version)
        return header, row.name if row is not None else header.database[:200]

    # -- BLAST archive -------------------------------------------------------------------------

    def _read_archive(
        self, path: Path, draft: _Draft, viewer: Viewer, take: bool
    ) -> tuple[XmlHeader, str]:
        started = utcnow()
        header, letters = _archive_header(path)
        _check_program(header.program)
        mine = blast_version()
        if header.version != mine:
            raise BlastDeckError(
                ErrorCode.IMPORT_BLAST_VERSION,
                f"The archive was written by BLAST+ {header.version[:40] or '(unknown)'}; this "
                f"server's blast_formatter is {mine} and reads only its own archives. Export "
                "it as BLAST XML (-outfmt 5) instead, or format it with that version.",
                field="file",
            )
        row = self._registered(header.database, viewer)
        if row is None:
            raise BlastDeckError(
                ErrorCode.IMPORT_DATABASE_UNKNOWN,
                f"The archive searched the database {header.database[:80]!r}, which is not "
                "registered here; blast_formatter needs it to read the archive. Register it "
                "(blastdeck db add) and import again, or import BLAST XML (-outfmt 5).",
                field="file",
            )
        out = draft.work_dir / IMPORT_DIR
        out.mkdir()
        archive = out / ARCHIVE_FILE
        shutil.move(path, archive) if take else shutil.copyfile(path, archive)
        table = out / TABLE_FILE
        prefix = Path(row.path)
        try:
            run_tool(
                "blast_formatter",
                ["-archive", str(archive), "-outfmt", HSP_TABLE_OUTFMT],
                database_dir=DatabaseDir(prefix.parent),
                stdout_path=table,
            )
        except BlastToolError as exc:
            raise BlastDeckError(
                ErrorCode.IMPORT_MALFORMED,
                f"blast_formatter could not read the archive (truncated or damaged?): "
                f"{exc.stderr_tail[-300:] or exc}. Nothing was imported.",
                field="file",
            ) from None
        query_ids = table_query_ids(table)
        draft.query_count, draft.query_letters = len(query_ids), letters
        hsps = read_hsps(table, query_ids, 0)
        write_batch_index(draft.work_dir, 0, 0, query_ids, hsps)
        _write_source(draft.work_dir, "archive", header, row)
        done = (
            f"read BLAST archive from BLAST+ {header.version}: {counted(len(query_ids), 'query')}"
        )
        _record(draft, Step.PREPARING, started, done)
        _skip_blast_steps(draft, f"BLAST+ {header.version}")
        return header, row.name

    def _registered(self, named: str, viewer: Viewer) -> BlastDatabase | None:
        """The registered database a file's `-db` names: by its name here, else by the file
        name of its files (BLAST sees the files' name, not the name registered here)."""
        if not named:
            return None
        try:
            return self._databases.get(named, viewer)
        except BlastDeckError:
            pass
        base = Path(named).name
        found = [row for row in self._databases.list(viewer) if Path(row.path).name == base]
        return found[0] if len(found) == 1 else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def imported_results(
    jobs_dir: Path, databases: DatabaseCatalog, job: Job, archives: bool
) -> JobResults:
    """An imported job's batch outputs for its downloads: its hit table (blast_formatter's
    from an archive; written from the hits for an XML) and its archive. An imported XML has
    no archive: the formats made from one are refused."""
    work_dir = jobs_dir / job.id
    archive = work_dir / IMPORT_DIR / ARCHIVE_FILE
    table = work_dir / IMPORT_DIR / TABLE_FILE
    if (archives and not archive.exists()) or not table.exists():
        raise BlastDeckError(
            ErrorCode.FORMAT_UNAVAILABLE,
            f"Job {job.id} was imported from BLAST XML: its XML download is the imported file "
            "and tsv/csv are made from its hits, but the other formats cannot be made exactly "
            "from XML. Import a BLAST archive (-outfmt 11) for every format.",
            field="format",
        )
    try:
        blastdb_dir = Path(databases.get(job.database).path).parent
    except BlastDeckError:  # an XML's database need not be registered: a table needs none
        blastdb_dir = work_dir
    batch = BatchResult(0, table, archive, table_query_ids(table), 0)
    return JobResults((batch,), blastdb_dir)


def _write_hit_table(path: Path, table: HspTable, draft: _Draft) -> None:
    query_ids = [table.query_ids.get(i, "") for i in range(draft.query_count)]
    fields = ("query_index", *HSP_FIELDS)
    rows = (
        Hsp(**{k: v for k, v in table.row(i).items() if k in fields}) for i in range(len(table))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_hsp_table(path, query_ids, rows)


def table_query_ids(table: Path) -> tuple[str, ...]:
    """The queries of a hit table in order, named by their titles' first word."""
    return tuple(
        (title.split(maxsplit=1) or [""])[0]
        for _, title, columns in table_rows(table, errors="replace")
        if not columns
    )


def blast_version() -> str:
    """This server's BLAST+ version as an archive's `ident` gives it (e.g. 2.12.0+)."""
    out = run_tool("blast_formatter", ["-version"])
    return out.split(":", 1)[-1].split()[0] if ":" in out else out.strip()


def _archive_header(path: Path) -> tuple[XmlHeader, int]:
    """What an archive's request says, read up to its subject database (before the results):
    BLAST+'s version, the program, the database, and the queries' total length."""
    header, letters, number = XmlHeader(), 0, 0
    with path.open("r", encoding="ascii", errors="replace") as lines:
        for line in lines:
            number += 1
            if match := _IDENT.match(line):
                header.version = match.group(1)
            elif not header.program and (match := _PROGRAM.match(line)):
                header.program = match.group(1)
            elif match := _LENGTH.match(line):
                letters += int(match.group(1))
            elif match := _SUBJECT_DB.match(line):
                header.database = match.group(1)
                return header, letters
    raise BlastDeckError(
        ErrorCode.IMPORT_MALFORMED,
        f"The BLAST archive ends at line {number} before it names its subject "
        "database (truncated?). Nothing was imported.",
        field="file",
    )


def _check_program(program: str) -> None:
    try:
        Program(program)
    except ValueError:
        raise BlastDeckError(
            ErrorCode.IMPORT_NOT_BLAST,
            f"The file's program is {program[:40]!r}; BlastDeck imports results of "
            + ", ".join(p.value for p in Program)
            + ".",
            field="file",
        ) from None


def _add_taxids(work_dir: Path, row: BlastDatabase, subjects: set[str]) -> None:
    """Each HSP's subject taxid, from the registered database (XML carries none)."""
    if not subjects:
        return
    wanted = work_dir / ".subjects.txt"
    wanted.write_text("\n".join(sorted(subjects)) + "\n")
    prefix = Path(row.path)
    try:
        out = run_tool(
            "blastdbcmd",
            ["-db", database_arg(prefix), "-dbtype", row.molecule, "-entry_batch",
             str(wanted), "-outfmt", "%a\t%T"],
            database_dir=DatabaseDir(prefix.parent),
            timeout=3600,
        )  # fmt: skip
    except BlastToolError:
        return  # the hits stay without organisms (staxid 0), as for a database without taxids
    finally:
        wanted.unlink(missing_ok=True)
    taxids: dict[str, int] = {}
    for line in out.splitlines():
        accession, _, taxid = line.partition("\t")
        if taxid.strip().isdigit():
            taxids[accession.strip()] = int(taxid)
            taxids.setdefault(accession.strip().split(".")[0], int(taxid))
    for name, _, _ in index_version(work_dir):
        _patch_staxids(work_dir / "index" / name, taxids)


def _patch_staxids(batch_file: Path, taxids: dict[str, int]) -> None:
    with np.load(batch_file) as data:
        arrays = {key: data[key] for key in data.files}
    blob, offsets = arrays["subject_ids_blob"].tobytes(), arrays["subject_ids_offsets"]
    per_subject = np.array(
        [
            taxids.get(blob[a:b].decode("utf-8", "replace"), 0)
            for a, b in itertools.pairwise(offsets.tolist())
        ],
        dtype="i8",
    )
    if len(per_subject):
        arrays["staxid"] = per_subject[arrays["subject"]]
    draft = batch_file.with_name(f".{batch_file.name}.{uuid.uuid4().hex}.part.npz")
    try:
        np.savez(draft, **arrays)
        os.replace(draft, batch_file)
    finally:
        draft.unlink(missing_ok=True)


def _record(draft: _Draft, step: Step, started: datetime, message: str) -> None:
    draft.steps.append(StepRecord(step, StepStatus.COMPLETED, started, utcnow(), message))


def _skip_blast_steps(draft: _Draft, version: str) -> None:
    now = utcnow()
    reason = f"imported: BLAST ran elsewhere ({version}); nothing to run here"
    for step in STEPS:
        if step not in (Step.PREPARING, Step.EXPORTING_RESULTS, Step.COMPLETED):
            draft.steps.append(StepRecord(step, StepStatus.SKIPPED, now, now, reason))


def _write_source(work_dir: Path, kind: str, header: XmlHeader, row: BlastDatabase | None) -> None:
    source = {
        "kind": kind,
        "program": header.program,
        "blast_version": header.version,
        "database_named": header.database,
        "database": row.name if row is not None else None,
    }
    (work_dir / SOURCE_FILE).write_text(json.dumps(source))


def _title(title: str | None, filename: str, header: XmlHeader, draft: _Draft) -> str:
    if title and title.strip():
        return " ".join("".join(c if c.isprintable() else " " for c in title).split())
    shown = Path(filename).name if filename else f"{header.program} result"
    return f"Imported {shown} ({counted(draft.query_count, 'query')})"[:200]
