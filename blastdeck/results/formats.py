"""The download formats a job offers: their names, media types and file extensions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blastdeck.domain.errors import BlastDeckError, ErrorCode


class ExportFormat(StrEnum):
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"
    XML = "xml"
    XML2 = "xml2"
    TEXT = "text"
    HTML = "html"
    TABULAR = "tabular"
    ASN1 = "asn1"

    @property
    def media_type(self) -> str:
        return _SPECS[self].media_type

    @property
    def extension(self) -> str:
        """The file extension, without the dot."""
        return _SPECS[self].extension


@dataclass(frozen=True)
class _FormatSpec:
    media_type: str
    extension: str


_SPECS: dict[ExportFormat, _FormatSpec] = {
    ExportFormat.TSV: _FormatSpec("text/tab-separated-values", "tsv"),
    ExportFormat.CSV: _FormatSpec("text/csv", "csv"),
    ExportFormat.JSON: _FormatSpec("application/json", "json"),
    ExportFormat.XML: _FormatSpec("application/xml", "xml"),
    ExportFormat.XML2: _FormatSpec("application/xml", "xml2.xml"),
    ExportFormat.TEXT: _FormatSpec("text/plain", "txt"),
    ExportFormat.HTML: _FormatSpec("text/html", "html"),
    ExportFormat.TABULAR: _FormatSpec("text/plain", "tabular.txt"),
    ExportFormat.ASN1: _FormatSpec("text/plain", "asn"),  # BLAST's archive is ASN.1 *text*
}


def parse_export_format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in ExportFormat)
        raise BlastDeckError(
            ErrorCode.UNKNOWN_FORMAT,
            f"Unknown export format {value[:40]!r}; use one of {known}.",
            field="format",
        ) from None


def needs_archives(fmt: ExportFormat) -> bool:
    """Whether `fmt` is formatted from the batch archives (the tables serve tsv and csv)."""
    return fmt not in (ExportFormat.TSV, ExportFormat.CSV)
