"""Warm copies of BLAST databases on a cluster: which copy is current, and making one.

A copy is identified by a fingerprint of the registered database's files (names, sizes, mtimes
and the index files' contents), written in a marker beside the copy. Staging is skipped when
the marker matches: the database has not changed since it was staged.

On this host a copy is built beside its target and swapped in by rename, so no reader sees half
a database. When the scratch dir is on the same filesystem as the database, the copy is made of
hard links (no bytes copied, no disk doubled); bytes are copied only onto another filesystem,
which is the point of staging (a faster local disk).

A multi-volume database (an alias over volumes, as NCBI ships the large ones) is staged volume
by volume: the marker also records each file's size and mtime, and a file whose source has not
changed since it was staged is hard-linked from the current copy instead of copied again, so a
database that gained or changed one volume costs that volume's bytes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from blastdeck.database_files import database_files
from blastdeck.engines.slots import host_lock
from blastdeck.files import write_atomically

STAGE_MARKER = ".blastdeck-staged.json"
# Errors that mean "a hard link cannot be made here": another filesystem, or one without links.
_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})


def database_fingerprint(prefix: Path) -> str:
    """Identity of a database's current files: names, sizes, mtimes and index-file contents."""
    digest = hashlib.sha256()
    for path in database_files(prefix):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        if path.suffix in (".nin", ".pin", ".nal", ".pal"):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def staged_fingerprint(marker: Path) -> str | None:
    """The fingerprint a staged copy was made at, or None when there is no readable marker."""
    try:
        value = json.loads(marker.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _staged_files(marker: Path) -> dict[str, list[int]]:
    """{file name: [size, mtime_ns]} of the sources a staged copy was made from."""
    try:
        files = json.loads(marker.read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _volume_of(name: str) -> str:
    """`nt.03.nsq` -> `nt.03`; `nt.nal` -> `nt`: the files BLAST opens together."""
    return name.rsplit(".", 1)[0]


@dataclass(frozen=True)
class StageReport:
    location: Path
    files: int
    linked: int  # files hard-linked from the source (same filesystem: nothing copied)
    bytes_copied: int
    reused: bool = False  # another job staged it meanwhile
    kept: int = 0  # files kept from the previous copy (their source had not changed)
    volumes: int = 1  # volumes (index files) in the database
    volumes_warm: int = 0  # of those, already current in the previous copy

    def describe(self) -> str:
        if self.reused:
            return f"{self.location} (staged meanwhile by another job)"
        if self.bytes_copied == 0:
            text = f"{self.linked} file(s) hard-linked, 0 bytes copied"
        else:
            copied = self.files - self.linked - self.kept
            text = f"{copied} file(s), {self.bytes_copied:,} bytes copied"
            text += f"; {self.linked} hard-linked"
        if self.kept:
            text += f"; {self.kept} kept from the previous copy"
        if self.volumes > 1:
            text += f"; {self.volumes_warm} of {self.volumes} volumes already warm"
        return f"{self.location} ({text})"


def stage_on_host(prefix: Path, warm_dir: Path) -> StageReport:
    """Make `warm_dir` a current copy of the database at `prefix`; every thread and process on
    this host stages one database once (a host lock), and a current copy is left alone."""
    with host_lock(warm_dir.parent / f".{warm_dir.name}.lock"):
        wanted = database_fingerprint(prefix)
        if staged_fingerprint(warm_dir / STAGE_MARKER) == wanted:
            return StageReport(warm_dir, 0, 0, 0, reused=True)
        previous = _staged_files(warm_dir / STAGE_MARKER)
        staging = warm_dir.parent / f".{warm_dir.name}.{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            linked = kept = copied = 0
            signatures: dict[str, list[int]] = {}
            changed_volumes: set[str] = set()
            for source in database_files(prefix):
                stat = source.stat()
                signature = signatures[source.name] = [stat.st_size, stat.st_mtime_ns]
                warm = warm_dir / source.name
                # Beside the staging dir, so on its filesystem: a link always works there.
                if previous.get(source.name) == signature and warm.is_file():
                    os.link(warm, staging / source.name)
                    kept += 1
                    continue
                changed_volumes.add(_volume_of(source.name))
                if _link(source, staging / source.name):
                    linked += 1
                else:
                    shutil.copy2(source, staging / source.name)
                    copied += stat.st_size
            marker = {"fingerprint": wanted, "files": signatures}
            write_atomically(staging / STAGE_MARKER, json.dumps(marker))
            swap_dir(staging, warm_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    indexes = {_volume_of(name) for name in signatures if name.endswith((".nin", ".pin"))}
    return StageReport(
        warm_dir,
        len(signatures),
        linked,
        copied,
        kept=kept,
        volumes=len(indexes),
        volumes_warm=len(indexes - changed_volumes),
    )


def remove_staged(warm_dir: Path) -> bool:
    """Remove a staged copy (its database was deleted); under the host lock, so no staging of
    it is half-way. True when there was one."""
    if not warm_dir.exists():
        return False
    with host_lock(warm_dir.parent / f".{warm_dir.name}.lock"):
        existed = warm_dir.exists()
        shutil.rmtree(warm_dir, ignore_errors=True)
    (warm_dir.parent / f".{warm_dir.name}.lock").unlink(missing_ok=True)
    return existed


def _link(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno in _NO_LINK:
            return False
        raise
    return True


def swap_dir(new: Path, target: Path) -> None:
    """Put `new` in place of `target` with renames, so no reader sees a half-copied database."""
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
