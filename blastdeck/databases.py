"""BLAST databases: register an existing one, build one from FASTA, read its metadata, name them.

Names are scoped (README "Database names and visibility"): a public database has a plain name
(`nt`), a private one is stored as `<owner>/<name>` and a group one as `@<group>/<name>`. A plain
name never contains '/', so the three never collide, and a name is unique within its scope only.
A viewer may refer to a database by its qualified name, or by its plain name, which resolves to
their own private database, else the one group database of that name among their groups, else
the public one (`DatabaseCatalog.get`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from blastdeck.auth import EVERYONE, Viewer
from blastdeck.blast_tools import (
    BlastToolError,
    DatabaseDir,
    UnusableBlastPath,
    database_arg,
    run_tool,
)
from blastdeck.build_progress import BuildProgress
from blastdeck.database_build import gunzip_bounded, makeblastdb, molecule_word
from blastdeck.database_fasta import check_fasta_file, gunzipped
from blastdeck.database_files import (
    GZIP_MAGIC,
    missing_files_reason,
)
from blastdeck.database_taxa import (
    TaxidCounts,
    TaxonomyCoverage,
    check_applied,
    coverage_of,
    map_text,
    parse_taxid_map,
    read_sequence_taxids,
    read_taxid_counts,
    single_taxid,
    write_taxid_set,
)
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.names import check_name
from blastdeck.domain.programs import Molecule
from blastdeck.domain.sharing import Visibility, parse_visibility
from blastdeck.store.catalog import DatabaseStore
from blastdeck.store.models import BlastDatabase
from blastdeck.taxonomy import Taxonomy

# (name, FASTA, title, taxid map or None). demo-16s's map names the organism of 189 of its 200
# genes: derived from the organism names in their titles with the NCBI Taxonomy BlastDeck ships
# (taxoniq), so a first search shows hits by organism and can be filtered by taxon.
# demo-proteins's names each protein's organism, as its UniProt entry does (RS4_ECOLI is
# E. coli K-12's, taxid 83333; the sperm whale's is 9755, Physeter catodon).
DEMO_DATABASES = (
    (
        "demo-16s",
        "demo-16s.fa",
        "Demo: 200 bacterial 16S rRNA genes (NCBI Combined16SrRNA sample)",
        "demo-16s.taxid_map",
    ),
    (
        "demo-proteins",
        "demo-proteins.fa",
        "Demo: 8 well-known proteins (UniProt)",
        "demo-proteins.taxid_map",
    ),
)


@dataclass(frozen=True)
class DatabaseInfo:
    title: str
    molecule: Molecule
    sequences: int
    letters: int


def parse_info(text: str) -> DatabaseInfo:
    """Read `blastdbcmd -info` output: title, molecule, sequence and letter counts."""
    title = re.search(r"^Database: (.*)$", text, re.MULTILINE)
    counts = re.search(r"([\d,]+) sequences; ([\d,]+) total (bases|residues)", text)
    if not title or not counts:
        raise ValueError("unrecognised blastdbcmd -info output")
    return DatabaseInfo(
        title=title.group(1).strip(),
        molecule=Molecule.NUCLEOTIDE if counts.group(3) == "bases" else Molecule.PROTEIN,
        sequences=int(counts.group(1).replace(",", "")),
        letters=int(counts.group(2).replace(",", "")),
    )


def inspect_database(prefix: Path) -> DatabaseInfo:
    """The database's metadata, read with blastdbcmd from inside its directory (blast_tools'
    notes: BLAST+ splits `-db` on whitespace); a clear error when there is none."""
    try:
        db = database_arg(prefix)
    except UnusableBlastPath as exc:
        raise BlastDeckError(ErrorCode.INVALID_DATABASE_PATH, f"{exc}.", field="path") from None
    info: DatabaseInfo | None = None
    if prefix.parent.is_dir():
        for dbtype in ("nucl", "prot"):
            try:
                out = run_tool(
                    "blastdbcmd",
                    ["-db", db, "-dbtype", dbtype, "-info"],
                    database_dir=DatabaseDir(prefix.parent),
                    timeout=60,
                )
            except BlastToolError:
                continue
            info = parse_info(out)
            break
    if info is None:
        raise BlastDeckError(
            ErrorCode.INVALID_DATABASE_PATH,
            f"No BLAST database found at {str(prefix)!r} (give the path prefix, e.g. /data/nt/nt,"
            " without the .nsq/.psq extension).",
            field="path",
        )
    return info


def database_files_missing(name: str, prefix: Path, reason: str | None = None) -> BlastDeckError:
    why = reason or missing_files_reason(prefix) or f"its files at {prefix} could not be read"
    return BlastDeckError(
        ErrorCode.DATABASE_FILES_MISSING,
        f"The files of database {name} are missing: {why}. Put them back at {prefix}.*, or "
        "register the database again where they are now.",
    )


# -- names -----------------------------------------------------------------------------------------


def qualified_name(name: str, visibility: Visibility, owner: str | None, group: str | None) -> str:
    """The stored name of a database: plain when public, `<owner>/<name>` when private,
    `@<group>/<name>` when shared with a group."""
    if visibility is Visibility.PRIVATE and owner:
        return f"{owner}/{name}"
    if visibility is Visibility.GROUP and group:
        return f"@{group}/{name}"
    return name


def plain_name(stored: str) -> str:
    """The name without its scope: what BLAST+ files and staged copies are called."""
    return stored.rsplit("/", 1)[-1]


def storage_name(stored: str) -> str:
    """A directory name for the database's files and staged copies: one flat name per
    qualified name (`alice/x` → `alice~x`; '~' is in no plain name, so none collide)."""
    return stored.replace("/", "~")


def scope_of(row: BlastDatabase) -> str:
    """The scope the database's name is unique within: `public`, its owner's user name, or
    `@<group>`; a private database added with no user signed in (before scoped names) has
    no owner to be named after and keeps its plain name: `unowned`."""
    if "/" in row.name:
        return row.name.split("/", 1)[0]
    return "public" if row.visibility == Visibility.PUBLIC else "unowned"


# -- sharing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sharing:
    """Who owns a new database and who else may search it."""

    owner_id: str | None
    visibility: Visibility
    group: str | None = None
    owner_name: str | None = None


PUBLIC_SHARING = Sharing(owner_id=None, visibility=Visibility.PUBLIC)


def sharing_for(viewer: Viewer, visibility: str | None = None, group: str | None = None) -> Sharing:
    """The sharing of a database the viewer adds. Signed-in users' databases are private
    unless they say otherwise; with auth off (one local user) they are public. Sharing with a
    group needs its name, and a member of it (or an admin)."""
    if visibility:
        chosen = parse_visibility(visibility)
    else:
        chosen = Visibility.PRIVATE if viewer.user_id else Visibility.PUBLIC
    if chosen is not Visibility.GROUP:
        if group:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "A group is only for visibility 'group'.",
                field="group",
            )
        if chosen is Visibility.PRIVATE and not viewer.name:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "A private database belongs to a signed-in user (it is named <user>/<name>); "
                "with no user signed in, add it as public or for a group, or add it through a "
                "server with that user's token.",
                field="visibility",
            )
        return Sharing(viewer.user_id, chosen, owner_name=viewer.name)
    if not group:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, "Name the group to share the database with.", field="group"
        )
    check_name(group, what="group", field="group")
    if not viewer.is_admin and group not in viewer.groups:
        raise BlastDeckError(
            ErrorCode.FORBIDDEN, f"You are not a member of group {group!r}.", field="group"
        )
    return Sharing(viewer.user_id, chosen, group, owner_name=viewer.name)


def _parse_molecule(value: str | Molecule | None) -> Molecule | None:
    if value is None or isinstance(value, Molecule):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    try:
        return Molecule(text)
    except ValueError:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            f"molecule must be nucl or prot, not {text[:20]!r}.",
            field="molecule",
        ) from None


# -- the catalog -----------------------------------------------------------------------------------


class DatabaseCatalog:
    def __init__(
        self,
        store: DatabaseStore,
        databases_dir: Path,
        max_fasta_bytes: int = 64 * 1024 * 1024,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self._store = store
        self._dir = databases_dir
        self._max_fasta_bytes = max_fasta_bytes
        self._taxonomy = taxonomy  # checks taxid maps, names top organisms

    def get(self, name: str, viewer: Viewer = EVERYONE) -> BlastDatabase:
        """The database the viewer means by `name` (plain or qualified), if it exists and they
        may use it (else 'unknown', so private names are never confirmed)."""
        row = self._resolve(name, viewer) if isinstance(name, str) else None
        if row is None or not viewer.can_use(row):
            raise BlastDeckError(
                ErrorCode.UNKNOWN_DATABASE,
                f"Unknown database {str(name)[:80]!r}; GET /api/databases lists them.",
                field="database",
            )
        return row

    def _resolve(self, name: str, viewer: Viewer) -> BlastDatabase | None:
        if "/" in name or viewer.user_id is None:
            return self._store.get(name)
        if viewer.name:
            own = self._store.get(f"{viewer.name}/{name}")
            if own is not None:
                return own
        shared = [
            row for g in viewer.groups if (row := self._store.get(f"@{g}/{name}")) is not None
        ]
        if len(shared) > 1:
            names = ", ".join(row.name for row in shared)
            raise BlastDeckError(
                ErrorCode.AMBIGUOUS_DATABASE,
                f"More than one of your groups has a database named {name!r}: {names}. "
                "Give the qualified name.",
                field="database",
            )
        if shared:
            return shared[0]
        return self._store.get(name)

    def list(self, viewer: Viewer = EVERYONE) -> list[BlastDatabase]:
        return [row for row in self._store.list() if viewer.can_use(row)]

    def register(
        self,
        name: str,
        path: str,
        sharing: Sharing = PUBLIC_SHARING,
        molecule: str | Molecule | None = None,
    ) -> BlastDatabase:
        """Register an existing database by its path prefix; its taxids (if it has any: NCBI's
        v5 databases do) are read from it with blastdbcmd."""
        stored = self._new_name(name, sharing)
        wanted = _parse_molecule(molecule)
        if not isinstance(path, str) or "\x00" in path or not Path(path).is_absolute():
            raise BlastDeckError(
                ErrorCode.INVALID_DATABASE_PATH,
                "Give the database as an absolute path prefix on the server, e.g. /data/nt/nt.",
                field="path",
            )
        prefix = Path(path).resolve()
        info = inspect_database(prefix)
        if wanted is not None and wanted is not info.molecule:
            raise BlastDeckError(
                ErrorCode.DATABASE_MOLECULE_MISMATCH,
                f"The database at {prefix} is a {molecule_word(info.molecule)} database, not "
                f"{molecule_word(wanted)}.",
                field="molecule",
            )
        coverage = self._coverage(stored, read_sequence_taxids(prefix, info.molecule))
        return self._store.add(_row(stored, prefix, info, "registered", sharing, coverage))

    def build(self, name: str, fasta: str | bytes, **options: Any) -> BlastDatabase:
        """Build a database from FASTA text (plain or gzipped): `build_file`'s, from memory."""
        self._dir.mkdir(parents=True, exist_ok=True)
        handle, spool = tempfile.mkstemp(prefix=".fasta-", suffix=".part", dir=self._dir)
        try:
            with os.fdopen(handle, "wb") as fh:
                fh.write(fasta.encode() if isinstance(fasta, str) else fasta)
            return self.build_file(name, Path(spool), **options)
        finally:
            Path(spool).unlink(missing_ok=True)

    def build_file(
        self,
        name: str,
        fasta: Path,
        *,
        title: str | None = None,
        source: str = "built",
        sharing: Sharing = PUBLIC_SHARING,
        molecule: str | Molecule | None = None,
        taxid_map: str | bytes | None = None,
        taxid: int | str | None = None,
        progress: BuildProgress | None = None,
    ) -> BlastDatabase:
        """Build a database from a FASTA file (plain or gzipped; an upload spooled to disk, read
        a part at a time: `database_fasta.py`) with makeblastdb under the data dir; `molecule`
        (nucl or prot) is detected from the residues when not given. Its sequences' taxids
        come from `taxid_map` (`seqid<TAB>taxid` lines, checked first) or `taxid` (one for
        all), through makeblastdb -taxid_map. `progress` follows the check and makeblastdb. The
        file is left for the caller to remove."""
        progress = progress or BuildProgress("", None)  # nobody asks: counted for nothing
        stored = self._new_name(name, sharing)
        chosen = _parse_molecule(molecule)
        if taxid_map is not None and taxid is not None:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "Give either a taxid map or one taxid for every sequence, not both.",
                field="taxid",
            )
        if isinstance(taxid_map, bytes) and taxid_map.startswith(GZIP_MAGIC):
            taxid_map = gunzip_bounded(taxid_map, self._max_fasta_bytes)
        if title is not None and not title.isascii():
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "The title must be ASCII text: BLAST+ databases cannot store other characters.",
                field="title",
            )
        folder = storage_name(stored)
        self._dir.mkdir(parents=True, exist_ok=True)
        final_dir = self._dir / folder
        base = plain_name(stored)
        work = Path(tempfile.mkdtemp(prefix=f".{folder}-", dir=self._dir))
        try:
            progress.checking(None)  # no total while a gzipped upload is inflated
            plain = gunzipped(fasta, work, self._max_fasta_bytes)
            progress.checking(plain.stat().st_size)
            keep_ids = taxid_map is not None or taxid is not None
            checked = check_fasta_file(plain, work / f"{base}.fa", chosen, keep_ids, progress)
            if plain != fasta:
                plain.unlink()  # the inflated copy, before the work dir becomes the database's
            seqids = checked.seqids or []
            taxids: dict[str, int] = {}
            if taxid_map is not None:
                taxids = parse_taxid_map(taxid_map, seqids, self._taxonomy_or_fail())
            elif taxid is not None:
                one = single_taxid(taxid, self._taxonomy_or_fail())
                taxids = dict.fromkeys(seqids, one)
            map_name = None
            if taxids:
                map_name = f"{base}.taxid_map"
                (work / map_name).write_text(map_text(taxids))
            inputs = {f"{base}.fa", f"{base}.taxid_map"}
            with progress.building(checked.molecule, work, base, inputs):
                makeblastdb(work, base, checked.molecule, title or plain_name(stored), map_name)
            (work / f"{base}.fa").unlink()
            if map_name:
                (work / map_name).unlink()
            if final_dir.exists():  # left by a build that crashed before it was recorded
                shutil.rmtree(final_dir)
            work.rename(final_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # an inflated copy of a gzipped upload too
        prefix = final_dir / base
        try:
            info = inspect_database(prefix)
        except BlastDeckError:  # its message would name the server's path
            shutil.rmtree(final_dir, ignore_errors=True)
            raise BlastDeckError(
                ErrorCode.DATABASE_BUILD_FAILED,
                "makeblastdb finished, but the database it wrote cannot be read.",
                field="file",
            ) from None
        per_sequence = np.zeros(checked.sequences, dtype=np.int64)
        if taxids:  # what makeblastdb stored, read back: the map's lines matched silently
            per_sequence = read_sequence_taxids(prefix, info.molecule)
            try:
                check_applied(taxids, per_sequence)
            except BlastDeckError:
                shutil.rmtree(final_dir, ignore_errors=True)
                raise
        coverage = self._coverage(stored, per_sequence)
        return self._store.add(_row(stored, prefix, info, source, sharing, coverage))

    def taxid_counts(self, row: BlastDatabase) -> TaxidCounts | None:
        """The database's distinct taxids and their sequences (None: never read, e.g. added
        before they were)."""
        return read_taxid_counts(self._dir, storage_name(row.name))

    def _coverage(self, stored: str, per_sequence: np.ndarray) -> TaxonomyCoverage:
        taxonomy = self._taxonomy if per_sequence.any() else None
        coverage = coverage_of(per_sequence, taxonomy)
        write_taxid_set(self._dir, storage_name(stored), coverage.taxids, coverage.counts)
        return coverage

    def _taxonomy_or_fail(self) -> Taxonomy:
        if self._taxonomy is None:
            raise BlastDeckError(
                ErrorCode.TAXONOMY_UNAVAILABLE, "This server has no taxonomy to check taxids."
            )
        return self._taxonomy

    def ensure_demo(self) -> None:
        """On a new data dir, build the demo databases so there is something to search."""
        demo = resources.files("blastdeck.demo")
        for name, filename, title, taxid_map in DEMO_DATABASES:
            if self._store.get(name) is None:
                taxa = demo.joinpath(taxid_map).read_text() if taxid_map else None
                text = demo.joinpath(filename).read_text()
                self.build(name, text, title=title, source="demo", taxid_map=taxa)

    def _new_name(self, name: str, sharing: Sharing) -> str:
        """The stored name of a database about to be added, free in its scope."""
        check_name(name, what="database", field="name")
        stored = qualified_name(name, sharing.visibility, sharing.owner_name, sharing.group)
        if self._store.get(stored) is not None:
            raise BlastDeckError(
                ErrorCode.DATABASE_EXISTS,
                f"A database named {stored!r} already exists.",
                field="name",
            )
        return stored


def _row(
    name: str,
    prefix: Path,
    info: DatabaseInfo,
    source: str,
    sharing: Sharing,
    coverage: TaxonomyCoverage,
) -> BlastDatabase:
    return BlastDatabase(
        name=name,
        path=str(prefix),
        title=info.title,
        molecule=info.molecule.value,
        sequences=info.sequences,
        letters=info.letters,
        source=source,
        owner_id=sharing.owner_id,
        visibility=sharing.visibility.value,
        share_group=sharing.group,
        taxid_sequences=coverage.taxid_sequences,
        distinct_taxids=coverage.distinct_taxids,
        top_organisms=coverage.top_organisms,
    )
