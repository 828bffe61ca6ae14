"""The databases of a job: which ones a submit may search (`domain/database_list.py` for the
list's shape), and reading its hit subjects' sequences from them (`results/hit_sequences.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from blastdeck.auth import Viewer
from blastdeck.database_files import database_format, missing_files_reason
from blastdeck.databases import DatabaseCatalog
from blastdeck.domain.database_list import (
    check_distinct,
    check_same_molecule,
    check_searchable_together,
    requested_databases,
)
from blastdeck.domain.errors import BlastDeckError
from blastdeck.domain.programs import Molecule, Program, check_database_molecule
from blastdeck.domain.submission import SubmitRequest
from blastdeck.results.hit_sequences import HIT_SEQUENCES_DIR, SequenceSource, hit_fasta
from blastdeck.results.hsp_index import HspTable
from blastdeck.search_databases import SEARCH_DIRS, db_list_arg, search_dir
from blastdeck.store.models import BlastDatabase, Job


def searched_databases(
    catalog: DatabaseCatalog, program: Program, request: SubmitRequest, viewer: Viewer
) -> list[BlastDatabase]:
    """The databases a submit searches, in its order: each one the viewer may use (else
    'unknown', exactly as for one database: a private name is never confirmed), each once,
    all of one molecule type and the one the program searches, and of formats BLAST+
    searches together (read from their files: several databases only)."""
    names = requested_databases(request.database, request.databases)
    field = "databases" if request.databases is not None else "database"
    databases = []
    for name in names:
        try:
            databases.append(catalog.get(name, viewer))
        except BlastDeckError as exc:
            raise BlastDeckError(exc.code, exc.message, field=field, detail=exc.detail) from None
    check_distinct([d.name for d in databases])
    check_same_molecule([(d.name, Molecule(d.molecule)) for d in databases])
    for d in databases:
        check_database_molecule(program, d.name, Molecule(d.molecule))
    if len(databases) > 1:
        # one whose files are gone is reported as such by the job, not as another format
        present = [(d.name, Path(d.path)) for d in databases]
        formats = [(n, database_format(p)) for n, p in present if missing_files_reason(p) is None]
        check_searchable_together([(n, f.version, f.seqid_index) for n, f in formats])
    return databases


def job_hit_fasta(
    catalog: DatabaseCatalog,
    jobs_dir: Path,
    job: Job,
    table: HspTable,
    region: str,
    subjects: str | None,
    query_index: int | None,
) -> Iterator[bytes]:
    """The job's `format=fasta` download: read from its registered databases, all of them as
    one (as BLAST searched them), so each subject comes from the database it is in."""
    rows = [catalog.get(name) for name in job.database_names]  # the job's: its viewer may
    prefixes = [Path(row.path) for row in rows]
    molecule = Molecule(rows[0].molecule)
    link_dir = jobs_dir / job.id / SEARCH_DIRS / "registered"
    source = SequenceSource(
        search_dir(prefixes, [p.parent for p in prefixes], link_dir, molecule),
        db_list_arg(prefixes),
        tuple(prefixes),
        molecule,
    )
    scratch = jobs_dir / job.id / HIT_SEQUENCES_DIR
    return hit_fasta(table, source, scratch, region, subjects, query_index)
