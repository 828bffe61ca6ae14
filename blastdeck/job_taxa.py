"""Search within organisms: a job's `taxids` / `negative_taxids` options turned, at submit, into
the taxid list file BLAST reads (`-taxidlist FILE` or `-negative_taxidlist FILE`).

The options take taxids or names (`domain/taxon_filter.py`). At submit they are resolved with
the taxonomy (unknown or ambiguous names are refused with suggestions or candidates), each
taxon expanded to itself and all its descendants, the result cut down to the taxids the
database has (its taxid set, `database_taxa.py`), and written to `taxids.txt` in the job's
dir. The batch plan (`engines/batch_plan.py`) hands that file to every BLAST process, so no
taxid list ever goes on a command line however many taxa a filter names (Bacteria: ~570,000).

The job keeps the filter as given and what it became (`Job.taxon_filter`, shown in the job's
JSON): the resolved taxa and their scientific names, how many taxids the expansion gave, how
many of them the database has (the lines of the file), and how many of the database's
sequences BLAST searches with it (the batch plan runs fewer threads for a search of a small
share: `domain/search_split.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from blastdeck.database_taxa import TaxidCounts, searched_sequences
from blastdeck.domain.entrez_query import FIELD as ENTREZ_FIELD
from blastdeck.domain.entrez_query import parse_entrez_query
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import TAXON_OPTIONS, TaxonRef, taxon_filter_from_options
from blastdeck.engines.base import TaxidListArg
from blastdeck.store.models import BlastDatabase
from blastdeck.taxonomy import Taxonomy, write_taxid_list
from blastdeck.taxonomy.model import unique_sorted

TAXID_LIST_FILE = "taxids.txt"
INCLUDE_OPTION = "-taxidlist"
EXCLUDE_OPTION = "-negative_taxidlist"


@dataclass(frozen=True)
class JobTaxa:
    """A submitted job's filter: what it stores (`record`) and the list to write (`taxids`,
    None when the filter leaves BLAST nothing to do, e.g. excluding what the database lacks)."""

    record: dict[str, Any]
    taxids: np.ndarray | None


def split_taxon_options(options: object) -> tuple[object, dict[str, object]]:
    """The BLAST options without `taxids` / `negative_taxids`, and those two (the option
    allow-list knows neither: they are no BLAST argument, the list file is)."""
    if not isinstance(options, Mapping):
        return options, {}
    rest = {k: v for k, v in options.items() if k not in TAXON_OPTIONS}
    taxa = {k: options[k] for k in TAXON_OPTIONS if options.get(k) is not None}
    return rest, taxa


def resolve_job_taxa(
    taxa: Mapping[str, object],
    entrez_query: str | None,
    databases: Sequence[BlastDatabase],
    databases_taxids: Sequence[TaxidCounts | None],
    taxonomy: Taxonomy,
) -> JobTaxa | None:
    """The filter the options (or, from Blast.cgi, ENTREZ_QUERY) ask for, checked and
    expanded for the job's databases (several: the union of their taxids, since BLAST reads
    one list for all of them); None when they ask for none."""
    fields: dict[str, str] = {}
    if entrez_query is not None:
        if taxa:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                "Give the organisms either as ENTREZ_QUERY or as taxids/negative_taxids.",
                field=ENTREZ_FIELD,
            )
        spec = parse_entrez_query(entrez_query)
        fields = {"include_field": ENTREZ_FIELD, "exclude_field": ENTREZ_FIELD}
    else:
        spec = taxon_filter_from_options(taxa.get("taxids"), taxa.get("negative_taxids"))
    if spec.is_empty:
        return None
    field = fields.get("include_field") or (
        "options.taxids" if spec.include else "options.negative_taxids"
    )
    for database, counted in zip(databases, databases_taxids, strict=True):
        _check_has_taxids(database, counted, field)
    database_taxids = unique_sorted(
        np.concatenate([c.taxids for c in databases_taxids if c is not None])
    )
    lists = taxonomy.expand_filter(spec, **fields)
    expanded = lists.include if lists.include is not None else lists.exclude
    restricted = lists.restricted_to(database_taxids, " + ".join(d.name for d in databases))
    listed = restricted.include if restricted.include is not None else restricted.exclude
    option = None
    if restricted.include is not None:
        option = INCLUDE_OPTION
    elif restricted.exclude is not None:
        option = EXCLUDE_OPTION
    record = {
        "taxids": _given(spec.include),
        "negative_taxids": _given(spec.exclude),
        "entrez_query": entrez_query,
        "include_taxa": list(lists.include_taxa),
        "exclude_taxa": list(lists.exclude_taxa),
        "include_names": [taxonomy.get(t).scientific_name for t in lists.include_taxa],
        "exclude_names": [taxonomy.get(t).scientific_name for t in lists.exclude_taxa],
        "expanded_taxids": 0 if expanded is None else len(expanded),
        "database_taxids": 0 if listed is None else len(listed),
        "blast_option": option,
        "searched_sequences": _searched(databases, databases_taxids, listed, option),
        "database_sequences": sum(d.sequences for d in databases),
    }
    return JobTaxa(record, listed)


def _searched(
    databases: Sequence[BlastDatabase],
    databases_taxids: Sequence[TaxidCounts | None],
    listed: np.ndarray | None,
    option: str | None,
) -> int | None:
    """The databases' sequences BLAST searches with the list (None: a database's sequences
    per taxid were never counted)."""
    if listed is None or option is None:
        return sum(d.sequences for d in databases)  # nothing to drop
    total = 0
    for database, counted in zip(databases, databases_taxids, strict=True):
        if counted is None or counted.counts is None:
            return None
        include = option == INCLUDE_OPTION
        total += searched_sequences(
            counted.taxids, counted.counts, database.sequences, listed, include
        )
    return total


def _check_has_taxids(database: BlastDatabase, counted: TaxidCounts | None, field: str) -> None:
    """Each database of a filtered search has taxids (BLAST would refuse its list there)."""
    if database.taxid_sequences and counted is not None and len(counted.taxids):
        return
    never_read = database.taxid_sequences is None
    raise BlastDeckError(
        ErrorCode.DATABASE_WITHOUT_TAXIDS,
        f"Database {database.name} "
        + (
            "was added before BlastDeck read databases' taxids; add it again to filter by organism."
            if never_read
            else "has no taxids, so it cannot be searched within organisms; build it "
            "with a taxid map (db add --taxid-map) or one taxid (--taxid)."
        ),
        field=field,
        detail={"database": database.name},
    )


def _given(refs: tuple[TaxonRef, ...]) -> list[str]:
    return [str(ref) for ref in refs]


def write_job_taxid_list(work_dir: Path, taxids: np.ndarray) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / TAXID_LIST_FILE
    write_taxid_list(path, taxids)
    path.chmod(0o644)  # read by BLAST wherever it runs (a SLURM node, as the same user)
    return path


def taxid_list_arg(record: Mapping[str, Any] | None, work_dir: Path) -> TaxidListArg | None:
    """How BLAST takes the job's stored filter (None: no list), with the share of its
    databases' sequences the list leaves BLAST to search (None: not known, e.g. a job
    submitted before it was kept)."""
    option = (record or {}).get("blast_option")
    if not option:
        return None
    searched, total = record.get("searched_sequences"), record.get("database_sequences")
    known = isinstance(searched, int) and isinstance(total, int) and total > 0
    return TaxidListArg(option, work_dir / TAXID_LIST_FILE, searched / total if known else None)
