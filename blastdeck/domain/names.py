"""Names users choose for databases, clusters and namespaces, checked before any path is built."""

from __future__ import annotations

import re

from blastdeck.domain.errors import BlastDeckError, ErrorCode

# Letters, digits, '.', '_' and '-', starting with a letter or digit: never a path separator,
# never '..', never an option-looking '-x'.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Kubernetes-style DNS label: what a namespace is on every engine we target.
_NAMESPACE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

UNKNOWN_CLUSTER = "_unknown"
DEFAULT_NAMESPACE = "default"


def check_name(value: str, *, what: str, field: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise BlastDeckError(
            ErrorCode.INVALID_NAME,
            f"Invalid {what} name {str(value)[:80]!r}: use 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit.",
            field=field,
        )
    return value


def check_namespace(value: str, *, field: str = "namespace") -> str:
    if not isinstance(value, str) or not _NAMESPACE.fullmatch(value):
        raise BlastDeckError(
            ErrorCode.INVALID_NAMESPACE,
            f"Invalid namespace {str(value)[:80]!r}: use 1-63 characters from a-z, 0-9 and '-',"
            " starting and ending with a letter or digit.",
            field=field,
        )
    return value
