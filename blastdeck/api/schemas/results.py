"""A job's results: its hit table, the queries that have hits, and pairwise alignments."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Hit(BaseModel):
    """One HSP (BLAST tabular columns; the fields of results.hits.HIT_FIELDS)."""

    query_id: str
    subject_id: str
    subject_title: str
    pident: float
    length: int
    mismatch: int
    gapopen: int
    qstart: int
    qend: int
    sstart: int
    send: int
    evalue: float
    bitscore: float
    qlen: int
    slen: int
    qcovhsp: float


class HitPage(BaseModel):
    items: list[Hit]
    total: int
    limit: int
    offset: int


class QuerySummary(BaseModel):
    query_id: str
    query_index: int = Field(description="0-based position in the submitted FASTA")
    qlen: int
    hits: int


class QueryList(BaseModel):
    items: list[QuerySummary]


class Alignment(BaseModel):
    """One HSP with its aligned sequences, from BLAST's JSON report. Keys BLAST leaves out for
    a program are absent here too: frames for blastn, strands for protein searches, positives
    for nucleotides."""

    query_id: str
    subject_id: str
    subject_title: str
    slen: int | None
    hsp_num: int
    # BLAST's JSON writes a whole number without a decimal point (an e-value of 0): kept so.
    bitscore: int | float
    score: int
    evalue: int | float
    identity: int
    positive: int | None = None
    gaps: int
    align_len: int
    qstart: int
    qend: int
    sstart: int
    send: int
    query_strand: str | None = None
    hit_strand: str | None = None
    query_frame: int | None = None
    hit_frame: int | None = None
    qseq: str
    midline: str
    hseq: str


class AlignmentPage(BaseModel):
    items: list[Alignment]
    total: int
    limit: int
    offset: int
