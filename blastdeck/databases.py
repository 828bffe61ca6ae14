"""BLAST databases: register an existing one, build one from FASTA, read its metadata, name them.

Names are scoped (README "Database names and visibility"): a public database has a plain name
(`nt`), a private one is stored as `<owner>/<name>` and a group one as `@<group>/<name>`. A plain
name never contains '/', so the three never collide, and a name is unique within its scope only.
A viewer may refer to a database by its qualified name, or by its plain name, which resolves to
their own private database, else the one group database of that name among their groups, else
the public one (`DatabaseCatalog.get`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from blastdeck.auth import EVERYONE, Viewer
from blastdeck.blast_tools import (
    BlastToolError,
    DatabaseDir,
    UnusableBlastPath,
    database_arg,
    run_tool,
)
from blastdeck.database_files import (
    GZIP_MAGIC,
    missing_files_reason,
)
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.fasta import QueryLimits, detect_molecule, parse_query
from blastdeck.domain.names import check_name
from blastdeck.domain.programs import Molecule
from blastdeck.domain.sharing import Visibility, parse_visibility
from blastdeck.store.catalog import DatabaseStore
from blastdeck.store.models import BlastDatabase

# Uploaded FASTA for a database may be far larger than a query.
_DATABASE_FASTA_LIMITS = QueryLimits(
    max_nucleotide_letters=10**9, max_protein_letters=10**8, max_sequences=10**7
)
_CHUNK = 1 << 20

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


def gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Decompress a gzipped upload a chunk at a time, refusing it as soon as it would be larger
    than `max_bytes` (a small file can decompress to gigabytes)."""
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(rest, _CHUNK)
            while True:
                out += chunk
                if len(out) > max_bytes:
                    raise BlastDeckError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"The gzipped FASTA decompresses to more than {max_bytes:,} bytes, the "
                        "upload limit (BLASTDECK_MAX_UPLOAD_BYTES).",
                        field="file",
                    )
                if not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            if not inflater.eof:
                raise zlib.error("truncated")
            rest = inflater.unused_data.lstrip(b"\0")  # the next member, if any
    except zlib.error:
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            "The file starts like gzip but is not a complete gzip file; upload it again.",
            field="file",
        ) from None
    return bytes(out)


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
        self, store: DatabaseStore, databases_dir: Path, max_fasta_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self._store = store
        self._dir = databases_dir
        self._max_fasta_bytes = max_fasta_bytes

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
                f"The database at {prefix} is a {_molecule_word(info.molecule)} database, not "
                f"{_molecule_word(wanted)}.",
                field="molecule",
            )
        return self._store.add(_row(stored, prefix, info, "registered", sharing))

    def build(
        self,
        name: str,
        fasta: str | bytes,
        *,
        title: str | None = None,
        source: str = "built",
        sharing: Sharing = PUBLIC_SHARING,
        molecule: str | Molecule | None = None,
    ) -> BlastDatabase:
        """Build a database from FASTA text (plain or gzipped) with makeblastdb under the data
        dir; `molecule` (nucl or prot) is detected from the residues when not given."""
        stored = self._new_name(name, sharing)
        chosen = _parse_molecule(molecule)
        if isinstance(fasta, bytes) and fasta.startswith(GZIP_MAGIC):
            fasta = gunzip_bounded(fasta, self._max_fasta_bytes)
        if title is not None and not title.isascii():
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "The title must be ASCII text: BLAST+ databases cannot store other characters.",
                field="title",
            )
        records = _database_records(fasta, chosen)
        folder = storage_name(stored)
        self._dir.mkdir(parents=True, exist_ok=True)
        final_dir = self._dir / folder
        if final_dir.exists():  # left by a build that crashed before it was recorded
            shutil.rmtree(final_dir)
        base = plain_name(stored)
        work = Path(tempfile.mkdtemp(prefix=f".{folder}-", dir=self._dir))
        try:
            with (work / f"{base}.fa").open("w") as fh:
                for r in records.records:
                    fh.write(f">{r.defline}\n{r.sequence}\n")
            _makeblastdb(work, base, records.molecule, title or plain_name(stored))
            (work / f"{base}.fa").unlink()
            work.rename(final_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
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
        return self._store.add(_row(stored, prefix, info, source, sharing))

    def ensure_demo(self) -> None:
        """On a new data dir, build the demo databases so there is something to search."""
        for name, filename, title in DEMO_DATABASES:
            if self._store.get(name) is None:
                text = resources.files("blastdeck.demo").joinpath(filename).read_text()
                self.build(name, text, title=title, source="demo")

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


@dataclass(frozen=True)
class _Records:
    records: list
    molecule: Molecule


def _database_records(fasta: str | bytes, chosen: Molecule | None) -> _Records:
    """The FASTA's records, checked like a query's (but about the upload), with ASCII headers:
    makeblastdb cannot store anything else (it fails on a non-ASCII id, and garbles a
    non-ASCII title while printing the same complaint over and over)."""
    molecule = chosen or _fasta_molecule(fasta)
    try:
        records = parse_query(fasta, molecule, _DATABASE_FASTA_LIMITS)
    except BlastDeckError as exc:  # same FASTA rules as a query, but about the upload
        if exc.code is ErrorCode.QUERY_MOLECULE_MISMATCH and chosen is not None:
            raise BlastDeckError(
                ErrorCode.DATABASE_MOLECULE_MISMATCH,
                f"Database FASTA: {exc.message.split(', but ')[0]}, but the database was to be "
                f"{_molecule_word(chosen)} (molecule {chosen.value}). Choose the other "
                "molecule, or check the file.",
                field="file",
            ) from None
        raise BlastDeckError(exc.code, f"Database FASTA: {exc.message}", field="file") from None
    bad = [(n, r) for n, r in enumerate(records, 1) if not r.defline.isascii()]
    if bad:
        number, record = bad[0]
        chars = sorted({c for c in record.defline if not c.isascii()})
        more = f" ({len(bad) - 1} more header(s) too)" if len(bad) > 1 else ""
        raise BlastDeckError(
            ErrorCode.INVALID_FASTA,
            f"Database FASTA: the header of sequence {number} ({record.defline[:60]!r}) has "
            f"non-ASCII characters ({''.join(chars[:10])}){more}; BLAST+ databases store "
            "ASCII headers only. Replace them (e.g. 'e' for 'é') and upload again.",
            field="file",
        )
    return _Records(records, molecule)


def _makeblastdb(work: Path, base: str, molecule: Molecule, title: str) -> None:
    """makeblastdb in its work dir with bare names: `-out` may hold no whitespace at all, and
    `-in` is split on it (blast_tools' notes); its messages then name no server path."""
    args = ["-in", f"{base}.fa", "-dbtype", molecule.value, "-out", base, "-title", title]
    try:
        run_tool("makeblastdb", [*args, "-parse_seqids"], cwd=work, timeout=3600)
    except BlastToolError as exc:
        said = _clean_tool_message(exc.stderr_tail or str(exc), work)
        raise BlastDeckError(
            ErrorCode.DATABASE_BUILD_FAILED,
            f"makeblastdb could not build the database: {said}",
            field="file",
        ) from exc


def _clean_tool_message(text: str, *hidden: Path) -> str:
    """A BLAST+ tool's complaint once: each distinct line once, no C++ source locations, and
    no server path (the work dir is named by what it holds)."""
    for path in hidden:
        text = text.replace(str(path) + "/", "").replace(str(path), "(work dir)")
    lines: list[str] = []
    for line in text.splitlines():
        line = re.sub(r'T0 "[^"]*", line \d+: ', "", line).strip()
        if line and line not in lines and line != "Error: NCBI C++ Exception:":
            lines.append(line)
    return " ".join(lines)[:600] or "no message"


def _molecule_word(molecule: Molecule) -> str:
    return "nucleotide" if molecule is Molecule.NUCLEOTIDE else "protein"


def _fasta_molecule(fasta: str | bytes) -> Molecule:
    text = fasta.decode("utf-8", "replace") if isinstance(fasta, bytes) else fasta
    lines = text[:200_000].removeprefix("\ufeff").splitlines()
    sample = "".join(line.strip() for line in lines if not line.lstrip().startswith((">", ";")))
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
