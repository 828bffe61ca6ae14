"""A BLAST database's files on disk, and what a path given to `db add` is (a FASTA file or a
database prefix). File-system facts only: the CLI reads them before it talks to any server, so
this module imports nothing of the server.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from blastdeck.domain.errors import BlastDeckError, ErrorCode

# A database's files: "<prefix>.<ext>" or, for multi-volume ones, "<prefix>.<NN>.<ext>".
_VOLUME_FILE = re.compile(r"(\d{2,3}\.)?[a-z]{3}")
# What BLAST+ opens first: an index (.nin/.pin) or, for multi-volume databases, an alias file.
_OPENING_FILE = re.compile(r"(\d{2,3}\.)?[np](in|al)")
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_HEAD_BYTES = 1 << 20


def database_files(prefix: Path) -> list[Path]:
    """Every file that belongs to the database with this path prefix (none when its directory
    is gone): its own files and, for an alias (`.nal`/`.pal`, as NCBI ships large databases and
    `blastdb_aliastool` makes), the files of every volume it lists, recursively."""
    found: set[Path] = set()
    todo, seen = [prefix], set()
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        own = _own_files(current)
        found.update(own)
        for alias in (p for p in own if p.name in (f"{current.name}.nal", f"{current.name}.pal")):
            todo.extend(prefix.parent / name for name in alias_volumes(alias) if "/" not in name)
    return sorted(found)


def _own_files(prefix: Path) -> list[Path]:
    stem = prefix.name + "."
    try:
        entries = list(prefix.parent.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [
        p
        for p in entries
        if p.name.startswith(stem) and _VOLUME_FILE.fullmatch(p.name[len(stem) :]) and p.is_file()
    ]


def alias_volumes(alias: Path) -> list[str]:
    """The volume names an alias file's DBLIST lines give (quoted or not), in order."""
    names: list[str] = []
    try:
        lines = alias.read_text(errors="replace").splitlines()
    except OSError:
        return names
    for line in lines:
        key, _, rest = line.strip().partition(" ")
        if key == "DBLIST":
            try:
                names.extend(shlex.split(rest))
            except ValueError:  # an unbalanced quote: BLAST reads it as words
                names.extend(rest.split())
    return names


def _volume_problem(prefix: Path) -> str | None:
    """Why a volume an alias lists cannot be searched (None when every one can). Volumes must
    sit beside the alias: staging copies a database's files into one directory."""
    for alias in (p for p in database_files(prefix) if p.suffix in (".nal", ".pal")):
        for name in alias_volumes(alias):
            if "/" in name:
                return (
                    f"its alias {alias.name} lists the volume {name!r} in another directory "
                    "(volumes must be beside the alias file)"
                )
            if not any(
                (alias.parent / f"{name}.{ext}").is_file() for ext in ("nin", "pin", "nal", "pal")
            ):
                return f"the volume {name} that {alias.name} lists is missing from {alias.parent}"
    return None


def missing_files_reason(prefix: Path) -> str | None:
    """Why the database's files cannot be searched (None when they are there): what a job
    that needs them reports, and what the database list shows."""
    if not prefix.parent.is_dir():
        return f"its directory {prefix.parent} is gone"
    files = database_files(prefix)
    if not files:
        return f"no files {prefix.name}.* are left in {prefix.parent}"
    stem = prefix.name + "."
    if not any(_OPENING_FILE.fullmatch(p.name[len(stem) :]) for p in files):
        return f"its index file ({prefix.name}.nin or .pin) is gone from {prefix.parent}"
    return _volume_problem(prefix)


@dataclass(frozen=True)
class DatabaseFormat:
    """What decides whether BLAST+ can search databases together (`database_format`)."""

    version: int  # 4 or 5 (5: an LMDB file, .ndb/.pdb, beside the volumes)
    seqid_index: bool  # its sequence ids are indexed (built with -parse_seqids: .nos/.pos)


def database_format(prefix: Path) -> DatabaseFormat:
    """The database's BLAST database version and whether its sequence ids are indexed, from
    its files (and, for an alias, its volumes')."""
    suffixes = {p.suffix for p in database_files(prefix)}
    return DatabaseFormat(
        5 if suffixes & {".ndb", ".pdb"} else 4, bool(suffixes & {".nos", ".pos"})
    )


SourceKind = Literal["fasta", "database"]


def source_kind(path: Path) -> SourceKind:
    """Whether `db add` was given a FASTA file to build from (plain or gzipped, with or without
    a byte-order mark or leading blank lines) or an existing database's path prefix."""
    if path.is_file():
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
        if head.startswith(GZIP_MAGIC):
            return "fasta"
        text = head.removeprefix(UTF8_BOM).lstrip()
        if text.startswith(b">"):
            return "fasta"
        if database_files(path):  # a file that is also a prefix ("nt" beside "nt.nin")
            return "database"
        if not text:
            raise BlastDeckError(
                ErrorCode.EMPTY_FILE,
                f"{path} is empty: there is no FASTA to build from.",
                field="file",
            )
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            f"{path} is neither FASTA (its first line does not start with '>') nor the path "
            "prefix of a BLAST database.",
            field="file",
        )
    if path.is_dir():
        found = sorted({p.with_suffix("") for p in path.glob("*.[np][ia][nl]")})
        hint = f" (here: {', '.join(str(p) for p in found[:5])})" if found else ""
        raise BlastDeckError(
            ErrorCode.INVALID_DATABASE_PATH,
            f"{path} is a directory; give a FASTA file or a database's path prefix, e.g. "
            f"{path}/nt{hint}.",
            field="path",
        )
    if database_files(path):
        return "database"
    raise BlastDeckError(
        ErrorCode.FILE_NOT_FOUND,
        f"File not found: {path} (no FASTA file there, and no BLAST database with that path "
        "prefix).",
        field="file",
    )
