"""An operator's NCBI taxdump (`names.dmp`, `nodes.dmp`, `merged.dmp` from NCBI's
taxdump.tar.gz), read into a `RawTaxonomy`, for a site that wants a newer or a curated
taxonomy than the embedded one (setting `BLASTDECK_TAXONOMY_DIR`).

NCBI's format: one record a line, fields separated by "\\t|\\t", the line ending in "\\t|\\n".

    nodes.dmp   tax_id | parent tax_id | rank | embl code | division id | ...  (13 or 18 fields)
    names.dmp   tax_id | name_txt | unique name | name class
    merged.dmp  old_tax_id | new_tax_id

Only the first fields are read, so both the classic 13-field nodes.dmp and the 18-field one
of 2023 onwards work. merged.dmp may be absent (then no taxid is merged).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from blastdeck.taxonomy.errors import unavailable
from blastdeck.taxonomy.model import COMMON, SYNONYM, RawTaxonomy

FILES = ("nodes.dmp", "names.dmp", "merged.dmp")

# Which names.dmp classes BlastDeck keeps. The shown common name is the first class present
# in COMMON_PREFERENCE; every common name is searchable. Synonyms are for resolving what
# people type (an older name, an acronym such as "HIV-1"), not for display.
COMMON_PREFERENCE = (b"genbank common name", b"common name", b"blast name")
SYNONYM_CLASSES = frozenset(
    {
        b"synonym",
        b"equivalent name",
        b"genbank synonym",
        b"acronym",
        b"genbank acronym",
        b"anamorph",
        b"genbank anamorph",
        b"teleomorph",
    }
)


def fingerprint(directory: Path) -> str:
    """Changes whenever one of the dump's files is replaced or touched."""
    digest = hashlib.sha256(str(directory.resolve()).encode())
    for name in FILES:
        path = directory / name
        if path.exists():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return f"taxdump-{digest.hexdigest()[:16]}"


def _rows(path: Path, min_fields: int) -> Iterator[tuple[int, list[bytes]]]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip(b"\r\n")
            if line.endswith(b"\t|"):
                line = line[:-2]
            if not line:
                continue
            fields = line.split(b"\t|\t")
            if len(fields) < min_fields:
                raise unavailable(
                    f"{path}:{lineno}: expected at least {min_fields} fields separated by "
                    "'\\t|\\t' (NCBI's taxdump format)"
                )
            yield lineno, fields


def _int(path: Path, lineno: int, text: bytes) -> int:
    try:
        value = int(text)
    except ValueError:
        raise unavailable(f"{path}:{lineno}: {text[:30]!r} is not a taxid") from None
    if not 0 < value < 2**31:
        raise unavailable(f"{path}:{lineno}: taxid {value} is out of range")
    return value


def check(directory: Path) -> None:
    """Raises unless the directory has the files a taxdump needs (merged.dmp is optional)."""
    if not directory.is_dir():
        raise unavailable(f"The taxonomy directory {directory} does not exist.")
    for name in FILES[:2]:
        if not (directory / name).is_file():
            raise unavailable(f"The taxonomy directory {directory} has no {name}.")


def load(directory: Path) -> RawTaxonomy:
    check(directory)

    nodes = directory / "nodes.dmp"
    taxids: list[int] = []
    parents: list[int] = []
    rank_codes: dict[bytes, int] = {}
    ranks: list[int] = []
    for lineno, fields in _rows(nodes, 3):
        taxids.append(_int(nodes, lineno, fields[0]))
        parents.append(_int(nodes, lineno, fields[1]))
        ranks.append(rank_codes.setdefault(fields[2].strip(), len(rank_codes)))
    if not taxids:
        raise unavailable(f"{nodes} has no taxa.")
    if len(rank_codes) > 250:
        raise unavailable(f"{nodes} has {len(rank_codes)} different ranks (at most 250).")

    names = directory / "names.dmp"
    scientific: dict[int, bytes] = {}
    other_taxid: list[int] = []
    other_names: list[bytes] = []
    other_class: list[int] = []
    common_choice: dict[int, tuple[int, int]] = {}  # taxid -> (preference, row in other_*)
    for lineno, fields in _rows(names, 4):
        taxid, text, name_class = _int(names, lineno, fields[0]), fields[1], fields[3].strip()
        if not text.strip():
            continue
        if name_class == b"scientific name":
            scientific.setdefault(taxid, text)
        elif name_class in COMMON_PREFERENCE:
            preference = COMMON_PREFERENCE.index(name_class)
            if preference < common_choice.get(taxid, (99, 0))[0]:
                common_choice[taxid] = (preference, len(other_names))
            other_taxid.append(taxid)
            other_names.append(text)
            other_class.append(COMMON)
        elif name_class in SYNONYM_CLASSES:
            other_taxid.append(taxid)
            other_names.append(text)
            other_class.append(SYNONYM)

    missing = [t for t in taxids if t not in scientific]
    if missing:
        raise unavailable(
            f"{names} has no scientific name for taxid {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "."
        )

    merged_old: list[int] = []
    merged_new: list[int] = []
    merged = directory / "merged.dmp"
    if merged.is_file():
        for lineno, fields in _rows(merged, 2):
            merged_old.append(_int(merged, lineno, fields[0]))
            merged_new.append(_int(merged, lineno, fields[1]))

    return RawTaxonomy(
        source=f"NCBI taxdump in {directory}",
        taxid=np.array(taxids, dtype=np.int64),
        parent=np.array(parents, dtype=np.int64),
        rank=np.array(ranks, dtype=np.uint8),
        rank_names=[r.decode("utf-8", "replace") for r in rank_codes],
        scientific=[scientific[t] for t in taxids],
        other_taxid=np.array(other_taxid, dtype=np.int64),
        other_names=other_names,
        other_class=np.array(other_class, dtype=np.uint8),
        display_common=np.array([row for _, row in common_choice.values()], dtype=np.int64),
        merged_old=np.array(merged_old, dtype=np.int64),
        merged_new=np.array(merged_new, dtype=np.int64),
    )
