"""BLAST's taxid list files (`-taxidlist FILE`, `-negative_taxidlist FILE`): one taxid a line.

A filter of Bacteria expands to ~600,000 taxids, far past what a command line holds, so the
lists go to BLAST as files. Each is written to a temporary file beside its target and renamed
into place: a BLAST process (or a resumed job re-reading its plan) never sees half a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from blastdeck.domain.taxon_filter import MAX_TAXID
from blastdeck.files import write_atomically
from blastdeck.taxonomy.model import unique_sorted


def write_taxid_list(path: Path, taxids: np.ndarray | Iterable[int]) -> int:
    """Writes the taxids (sorted, unique) to `path` atomically; returns how many."""
    values = unique_sorted(
        taxids if isinstance(taxids, np.ndarray) else np.fromiter(taxids, dtype=np.int64)
    )
    if len(values) and (values[0] < 1 or values[-1] > MAX_TAXID):
        raise ValueError(f"taxids must be from 1 to {MAX_TAXID}")
    text = "\n".join(map(str, values.tolist()))
    # Not synced to disk: a job's list is written as its row is (SQLite's WAL is not synced at
    # commit either), and BLAST refuses a missing list rather than search without it.
    write_atomically(Path(path), text + "\n" if text else "")
    return len(values)


def read_taxid_list(path: Path) -> np.ndarray:
    """A taxid list file back as an array (for checks and tests)."""
    text = Path(path).read_text()
    return np.array(text.split(), dtype=np.int64)  # int() of each, in C: the same errors
