"""A query given as sequence ids (`domain/query_ids.py`), read from BlastDeck's databases.

NCBI fetches an accession's sequence from Entrez; BlastDeck cannot reach NCBI, so it looks the
ids up in its own databases with `blastdbcmd`, which prints each record exactly as it does for
`blastdbcmd -entry ID` (the database's own title). The databases searched come first (when they
hold the query's molecule), then every other database the user may use that holds it, by name:
"the sequence of AB362592 from my-16s, against demo-16s" works. An id with a version that is
not found is tried without it (`NR_025211.1` in a database built from `NR_025211`), and EBI's
`EMBL:AB362592` without its database prefix (`domain/query_ids.lookup_forms`).

Only databases built with ids (`makeblastdb -parse_seqids`, as BlastDeck builds them) can be
read by id. The ids reach blastdbcmd on its standard input (`-entry_batch -`), never as
arguments, and no file is written.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from blastdeck.blast_tools import DatabaseDir, blast_env, database_arg, tail, tool_path
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.programs import Molecule
from blastdeck.domain.query_ids import lookup_forms, sequence_ids
from blastdeck.results.hit_sequences import has_id_index
from blastdeck.store.models import BlastDatabase

LOOKUP_TIMEOUT_S = 120
_SKIPPED = re.compile(r"Skipped (\S+)")
_MAX_LISTED = 10


class _Unreadable(Exception):
    """blastdbcmd failed on a database for another reason than ids it does not have."""


@dataclass(frozen=True)
class FoundQuery:
    seq_id: str  # as the user gave it
    database: str  # the database it was read from
    fasta: str  # the record as blastdbcmd prints it


def query_from_ids(
    text: str | bytes,
    molecule: Molecule,
    searched: Sequence[BlastDatabase],
    others: Callable[[], Sequence[BlastDatabase]],
    max_sequences: int,
) -> tuple[str | bytes, str | None]:
    """The query text to parse: as given, or, when it lists sequence ids, their records read
    from the databases, with a line saying where each came from (for the job's events)."""
    try:  # an uploaded file or the CLI's stdin comes as bytes
        ids = sequence_ids(text.decode() if isinstance(text, bytes) else text)
    except UnicodeDecodeError:  # not text: the FASTA gate says so
        ids = None
    if ids is None:
        return text, None
    if len(ids) > max_sequences:
        raise BlastDeckError(
            ErrorCode.TOO_MANY_SEQUENCES,
            f"The query lists {len(ids):,} sequence ids; a job may have at most "
            f"{max_sequences:,} sequences. Split it into several jobs.",
            field="query",
        )
    found = read_query_ids(ids, molecule, searched, others())
    shown = "; ".join(f"{f.seq_id} from {f.database}" for f in found[:_MAX_LISTED])
    more = f"; and {len(found) - _MAX_LISTED} more" if len(found) > _MAX_LISTED else ""
    return "".join(f.fasta for f in found), f"query read by id: {shown}{more}"


def read_query_ids(
    ids: Sequence[str],
    molecule: Molecule,
    searched: Sequence[BlastDatabase],
    others: Sequence[BlastDatabase],
) -> list[FoundQuery]:
    """Each id's record, in the order given, from the first database that has it; an id no
    database has is refused with every such id and the databases looked in named."""
    candidates = [d for d in searched if Molecule(d.molecule) is molecule]
    taken = {d.name for d in candidates}
    candidates += sorted(
        (d for d in others if Molecule(d.molecule) is molecule and d.name not in taken),
        key=lambda d: d.name,
    )
    found: dict[str, FoundQuery] = {}
    for database in candidates:
        wanted = [i for i in ids if i not in found]
        if not wanted:
            break
        prefix = Path(database.path)
        if not prefix.parent.is_dir() or not has_id_index(prefix, molecule):
            continue
        try:
            records = _records(prefix, molecule, wanted)
        except _Unreadable:  # its files are broken: the ids may still be in another one
            continue
        for seq_id, record in records.items():
            found[seq_id] = FoundQuery(seq_id, database.name, record)
    missing = [i for i in ids if i not in found]
    if missing:
        raise _not_found(missing, molecule, [d.name for d in candidates])
    return [found[i] for i in ids]


def _records(prefix: Path, molecule: Molecule, ids: list[str]) -> dict[str, str]:
    """The records of the ids one database has, each looked up in its forms in turn."""
    forms = {i: lookup_forms(i) for i in ids}
    records: dict[str, str] = {}
    for turn in range(max(len(f) for f in forms.values())):
        asked = {f[turn]: i for i, f in forms.items() if i not in records and turn < len(f)}
        if asked:
            records.update(_batch(prefix, molecule, asked))
    return records


def _batch(prefix: Path, molecule: Molecule, lookups: dict[str, str]) -> dict[str, str]:
    """`lookups` maps the id asked of blastdbcmd to the id the user gave."""
    text, skipped = _blastdbcmd(prefix, molecule, list(lookups))
    present = [asked for asked in lookups if asked.lower() not in skipped]
    records = _split_records(text)
    if len(records) != len(present):  # an id naming several entries: ask one at a time
        records = []
        for asked in present:
            one, _ = _blastdbcmd(prefix, molecule, [asked])
            records.append("".join(_split_records(one)))
    return {lookups[asked]: record for asked, record in zip(present, records, strict=True)}


def _blastdbcmd(prefix: Path, molecule: Molecule, ids: list[str]) -> tuple[str, set[str]]:
    where = DatabaseDir(prefix.parent)
    argv = [
        tool_path("blastdbcmd"),
        *("-db", database_arg(prefix), "-dbtype", molecule.value),
        *("-entry_batch", "-", "-outfmt", "%f"),
    ]
    try:
        proc = subprocess.run(
            argv,
            input="".join(f"{i}\n" for i in ids),
            capture_output=True,
            text=True,
            cwd=where.path,
            env=blast_env(where),
            timeout=LOOKUP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise _Unreadable(f"no answer in {LOOKUP_TIMEOUT_S} s") from None
    skipped = {m.group(1).lower() for m in _SKIPPED.finditer(proc.stderr)}
    # Exit status 1 means "some entries skipped"; anything else, or skips that do not account
    # for the failure, is the database's or the tool's problem, not an unknown id.
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not skipped):
        raise _Unreadable(f"exit {proc.returncode}: {tail(proc.stderr)}")
    return proc.stdout, skipped


def _split_records(text: str) -> list[str]:
    starts = [m.start() for m in re.finditer(r"^>", text, re.MULTILINE)]
    ends = [*starts[1:], len(text)] if starts else []
    return [text[a:b] for a, b in zip(starts, ends, strict=True)]


def _not_found(missing: list[str], molecule: Molecule, looked_in: list[str]) -> BlastDeckError:
    shown = ", ".join(missing[:_MAX_LISTED])
    more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
    kind = "nucleotide" if molecule is Molecule.NUCLEOTIDE else "protein"
    if looked_in:
        names = ", ".join(looked_in[:_MAX_LISTED])
        verb = "is" if len(missing) == 1 else "are"
        what = f"{shown}{more} {verb} in none of the {kind} databases you can use ({names})"
    else:
        what = f"you can use no {kind} database to read {shown}{more} from"
    return BlastDeckError(
        ErrorCode.QUERY_ID_NOT_FOUND,
        f"The query reads as sequence ids, and {what}. BlastDeck reads ids from its own "
        "databases (it cannot fetch them from NCBI): paste the sequence as FASTA ('>name' "
        "line, then its letters), or add a database that has it.",
        field="query",
        detail={"ids": ",".join(missing[:100])},
    )
