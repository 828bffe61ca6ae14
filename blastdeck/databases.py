"""BLAST databases: register an existing one, build one from FASTA, read its metadata."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from blastdeck.auth import EVERYONE, Viewer
from blastdeck.blast_tools import BlastToolError, run_tool
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryLimits, detect_molecule, parse_query
from blastdeck.domain.names import check_name
from blastdeck.domain.programs import Molecule
from blastdeck.domain.sharing import Visibility, parse_visibility
from blastdeck.store.catalog import DatabaseStore
from blastdeck.store.models import BlastDatabase

# A database's files: "<prefix>.<ext>" or, for multi-volume ones, "<prefix>.<NN>.<ext>".
_VOLUME_FILE = re.compile(r"(\d{2,3}\.)?[a-z]{3}")
# Uploaded FASTA for a database may be far larger than a query.
_DATABASE_FASTA_LIMITS = QueryLimits(
    max_nucleotide_letters=10**9, max_protein_letters=10**8, max_sequences=10**7
)

DEMO_DATABASES = (
    ("demo-16s", "demo-16s.fa", "Demo: 200 bacterial 16S rRNA genes (NCBI Combined16SrRNA sample)"),
    ("demo-proteins", "demo-proteins.fa", "Demo: 8 well-known proteins (UniProt)"),
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
    info: DatabaseInfo | None = None
    for dbtype in ("nucl", "prot"):
        try:
            out = run_tool(
                "blastdbcmd", ["-db", str(prefix), "-dbtype", dbtype, "-info"], timeout=60
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


def database_files(prefix: Path) -> list[Path]:
    """Every file that belongs to the database with this path prefix."""
    stem = prefix.name + "."
    return sorted(
        p
        for p in prefix.parent.iterdir()
        if p.is_file() and p.name.startswith(stem) and _VOLUME_FILE.fullmatch(p.name[len(stem) :])
    )


@dataclass(frozen=True)
class Sharing:
    """Who owns a new database and who else may search it."""

    owner_id: str | None
    visibility: Visibility
    group: str | None = None


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
        return Sharing(viewer.user_id, chosen)
    if not group:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST, "Name the group to share the database with.", field="group"
        )
    check_name(group, what="group", field="group")
    if not viewer.is_admin and group not in viewer.groups:
        raise BlastDeckError(
            ErrorCode.FORBIDDEN, f"You are not a member of group {group!r}.", field="group"
        )
    return Sharing(viewer.user_id, chosen, group)


class DatabaseCatalog:
    def __init__(self, store: DatabaseStore, databases_dir: Path) -> None:
        self._store = store
        self._dir = databases_dir

    def get(self, name: str, viewer: Viewer = EVERYONE) -> BlastDatabase:
        """The database, if it exists and the viewer may use it (else 'unknown', so private
        names are never confirmed)."""
        row = self._store.get(name) if isinstance(name, str) else None
        if row is None or not viewer.can_use(row):
            raise BlastDeckError(
                ErrorCode.UNKNOWN_DATABASE,
                f"Unknown database {str(name)[:80]!r}; GET /api/databases lists them.",
                field="database",
            )
        return row

    def list(self, viewer: Viewer = EVERYONE) -> list[BlastDatabase]:
        return [row for row in self._store.list() if viewer.can_use(row)]

    def register(self, name: str, path: str, sharing: Sharing = PUBLIC_SHARING) -> BlastDatabase:
        check_name(name, what="database", field="name")
        self._check_free(name)
        if not isinstance(path, str) or "\x00" in path or not Path(path).is_absolute():
            raise BlastDeckError(
                ErrorCode.INVALID_DATABASE_PATH,
                "Give the database as an absolute path prefix on the server, e.g. /data/nt/nt.",
                field="path",
            )
        prefix = Path(path).resolve()
        info = inspect_database(prefix)
        return self._store.add(_row(name, prefix, info, "registered", sharing))

    def build(
        self,
        name: str,
        fasta: str | bytes,
        *,
        title: str | None = None,
        source: str = "built",
        sharing: Sharing = PUBLIC_SHARING,
    ) -> BlastDatabase:
        """Build a database from FASTA text with makeblastdb under the data dir."""
        check_name(name, what="database", field="name")
        self._check_free(name)
        molecule = _fasta_molecule(fasta)
        try:
            records = parse_query(fasta, molecule, _DATABASE_FASTA_LIMITS)
        except BlastDeckError as exc:  # same FASTA rules as a query, but about the upload
            raise BlastDeckError(exc.code, f"Database FASTA: {exc.message}", field="file") from None
        self._dir.mkdir(parents=True, exist_ok=True)
        final_dir = self._dir / name
        if final_dir.exists():  # left by a build that crashed before it was recorded
            shutil.rmtree(final_dir)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self._dir))
        try:
            fasta_path = work / f"{name}.fa"
            with fasta_path.open("w") as fh:
                for r in records:
                    fh.write(f">{r.defline}\n{r.sequence}\n")
            self._makeblastdb(fasta_path, work / name, molecule, title or name)
            fasta_path.unlink()
            work.rename(final_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        prefix = final_dir / name
        return self._store.add(_row(name, prefix, inspect_database(prefix), source, sharing))

    def ensure_demo(self) -> None:
        """On a new data dir, build the demo databases so there is something to search."""
        for name, filename, title in DEMO_DATABASES:
            if self._store.get(name) is None:
                text = resources.files("blastdeck.demo").joinpath(filename).read_text()
                self.build(name, text, title=title, source="demo")

    def _check_free(self, name: str) -> None:
        if self._store.get(name) is not None:
            raise BlastDeckError(
                ErrorCode.DATABASE_EXISTS,
                f"A database named {name!r} already exists.",
                field="name",
            )

    @staticmethod
    def _makeblastdb(fasta: Path, out: Path, molecule: Molecule, title: str) -> None:
        args = ["-in", str(fasta), "-dbtype", molecule.value, "-out", str(out), "-title", title]
        try:
            run_tool("makeblastdb", [*args, "-parse_seqids"], timeout=3600)
        except BlastToolError as exc:
            raise BlastDeckError(
                ErrorCode.DATABASE_BUILD_FAILED,
                f"makeblastdb could not build the database: {exc.stderr_tail or exc}",
                field="file",
            ) from exc


def _fasta_molecule(fasta: str | bytes) -> Molecule:
    text = fasta.decode("utf-8", "replace") if isinstance(fasta, bytes) else fasta
    sample = "".join(
        line.strip() for line in text[:200_000].splitlines() if not line.startswith(">")
    )
    return detect_molecule(sample[:50_000]) if sample else Molecule.NUCLEOTIDE


def _row(
    name: str, prefix: Path, info: DatabaseInfo, source: str, sharing: Sharing
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
    )
