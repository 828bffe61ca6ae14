"""Where a BLAST+ tool finds the databases of one search, and the `-db` value naming them.

One database: the tool runs in the database's directory and `-db` is its bare file name
(`blast_tools.DatabaseDir`, `database_arg`), as everywhere in BlastDeck.

Several databases (a job's `databases`): BLAST searches them as one when `-db` lists them,
space-separated (`-db "a b"`), computing E-values over their union. Their directories differ
and BLAST splits `-db` on whitespace, so no directory goes into that list either: a *search
dir* in the job's work dir holds one symbolic link per database, `0`, `1`, ... to the directory
where that database's files are (its staged copy for a search, its registered copy for a
download's archive run, a node's copy on SLURM), and the tools run there with `BLASTDB=.:0:1`
and `-db "a b"`: each database by its own name, as a BLAST run of those databases names them
(the XML, JSON and text reports print `-db` as given). Two databases of the same file name
(`alice/x`, `bob/x`) are named by their links instead (`-db "0/x 1/x"`). The same `-db` value
then works in every such place: only the links differ.
When a database's file name has whitespace, `-db` names an alias file in the search dir instead
(`search.nal` / `search.pal`, whose `DBLIST` quotes each `N/name`), which BLAST reads as the
same union.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from blastdeck.blast_tools import DatabaseDir, database_arg
from blastdeck.domain.programs import Molecule
from blastdeck.files import write_atomically

SEARCH_DIRS = "search-dbs"  # in a job's work dir: one search dir per place the search runs
ALIAS_NAME = "search"  # the alias file's name, when a database's name has whitespace


def db_list_arg(prefixes: Sequence[Path]) -> str:
    """The `-db` value for these databases, from inside their search dir (one database: from
    inside its own directory)."""
    if len(prefixes) == 1:
        return database_arg(prefixes[0])
    names = [database_arg(p) for p in prefixes]  # refuses a name with a double quote
    if any(n.startswith('"') for n in names):
        return ALIAS_NAME
    if _by_own_names(prefixes):
        return " ".join(names)
    return " ".join(f"{i}/{n}" for i, n in enumerate(names))


def blastdb_path(prefixes: Sequence[Path]) -> str:
    """BLASTDB for `db_list_arg`, relative to the search dir: its links too when `-db` names
    the databases by their own names."""
    if len(prefixes) > 1 and _by_own_names(prefixes):
        return ":".join([".", *(str(i) for i in range(len(prefixes)))])
    return "."


def _by_own_names(prefixes: Sequence[Path]) -> bool:
    return len({p.name for p in prefixes}) == len(prefixes)


def search_dir(
    prefixes: Sequence[Path], dirs: Sequence[Path], link_dir: Path, molecule: Molecule
) -> DatabaseDir:
    """Where a tool finds the databases at `prefixes` (as registered: their file names) by
    `db_list_arg`, when their files are in `dirs` (one per database, in order): for one, its
    dir; for several, `link_dir` made (or brought up to date) with a link to each."""
    if len(prefixes) == 1:
        return DatabaseDir(dirs[0])
    link_dir.mkdir(parents=True, exist_ok=True)
    for i, target in enumerate(dirs):
        _point(link_dir / str(i), target)
    if db_list_arg(prefixes) == ALIAS_NAME:
        alias = link_dir / f"{ALIAS_NAME}.{molecule.value[0]}al"
        listed = " ".join(f'"{i}/{p.name}"' for i, p in enumerate(prefixes))
        text = f"TITLE {' '.join(p.name for p in prefixes)}\nDBLIST {listed}\n"
        if not alias.exists() or alias.read_text() != text:
            write_atomically(alias, text)
    return DatabaseDir(link_dir, blastdb_path(prefixes))


def _point(link: Path, target: Path) -> None:
    """`link` -> `target`, replaced by rename when it points elsewhere (readers never see it
    missing)."""
    try:
        if os.readlink(link) == str(target):
            return
    except OSError:
        pass
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex}")
    os.symlink(target, temporary)
    os.replace(temporary, link)
