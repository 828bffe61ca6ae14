"""A database's sequences per taxid (`database_taxa.py`) and the share of its sequences a job's
filter leaves BLAST (`job_taxa.taxid_list_arg`): what the batch plan's threads follow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blastdeck.database_taxa import (
    coverage_of,
    read_taxid_counts,
    searched_sequences,
    taxid_set_path,
    write_taxid_set,
)
from blastdeck.domain.taxon_filter import filter_summary
from blastdeck.job_taxa import TAXID_LIST_FILE, taxid_list_arg


def test_the_taxid_set_keeps_each_taxids_sequences(tmp_path: Path) -> None:
    per_sequence = np.array([562, 0, 562, 9606, 1280, 562, 0], dtype=np.int64)
    coverage = coverage_of(per_sequence, None)
    assert coverage.taxids.tolist() == [562, 1280, 9606]
    assert coverage.counts.tolist() == [3, 1, 1]
    write_taxid_set(tmp_path, "db", coverage.taxids, coverage.counts)
    counted = read_taxid_counts(tmp_path, "db")
    assert counted is not None and counted.counts is not None
    assert counted.taxids.tolist() == [562, 1280, 9606] and counted.counts.tolist() == [3, 1, 1]
    listed = np.array([562, 9606], dtype=np.int64)
    assert searched_sequences(counted.taxids, counted.counts, 7, listed, include=True) == 4
    # excluded: every other sequence, the two without a taxid too
    assert searched_sequences(counted.taxids, counted.counts, 7, listed, include=False) == 3
    assert read_taxid_counts(tmp_path, "other") is None


def test_a_taxid_set_written_before_counts_were_kept_has_none(tmp_path: Path) -> None:
    path = taxid_set_path(tmp_path, "old")
    path.parent.mkdir(parents=True)
    path.write_text("562\n1280\n9606\n")
    counted = read_taxid_counts(tmp_path, "old")
    assert counted is not None and counted.taxids.tolist() == [562, 1280, 9606]
    assert counted.counts is None


def test_the_list_argument_carries_the_share_searched(tmp_path: Path) -> None:
    record = {"blast_option": "-taxidlist", "searched_sequences": 48, "database_sequences": 3000}
    arg = taxid_list_arg(record, tmp_path)
    assert arg is not None and arg.option == "-taxidlist"
    assert arg.source == tmp_path / TAXID_LIST_FILE and arg.searched_share == 0.016
    # a job stored before the counts were kept, or on a database never counted: not known
    for old in ({"blast_option": "-taxidlist"}, {**record, "searched_sequences": None}):
        arg = taxid_list_arg(old, tmp_path)
        assert arg is not None and arg.searched_share is None
    assert taxid_list_arg({**record, "blast_option": None}, tmp_path) is None
    assert taxid_list_arg(None, tmp_path) is None


def test_a_filter_reads_as_a_line_by_name() -> None:
    record = {
        "taxids": ["91347", "1763"], "negative_taxids": ["Escherichia coli"],
        "include_taxa": [91347, 1763], "exclude_taxa": [562],
        "include_names": ["Enterobacterales", "Mycobacterium"],
        "exclude_names": ["Escherichia coli"],
        "searched_sequences": 1048, "database_sequences": 10000,
    }  # fmt: skip
    assert filter_summary(record) == (
        "only within Enterobacterales, Mycobacterium; excluding Escherichia coli; "
        "1,048 of 10,000 sequences searched"
    )
    # stored before names and counts were kept: as given, a taxid as "taxid N"
    old = {k: v for k, v in record.items() if not k.endswith(("_names", "_sequences"))}
    assert filter_summary(old) == "only within taxid 91347, taxid 1763; excluding Escherichia coli"
