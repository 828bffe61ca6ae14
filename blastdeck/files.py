"""Writing files that other threads and processes read while we write."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never a half-written one."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(text)
    os.replace(partial, path)
