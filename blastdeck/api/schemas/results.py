"""A job's results: its hits (one per query and subject), its HSPs, its queries, and pairwise
alignments."""

from __future__ import annotations

from pydantic import BaseModel, Field

from blastdeck.api.schemas.taxonomy import StandardLineage


class Organism(BaseModel):
    """The subject's organism, resolved by BlastDeck from its taxid and the NCBI Taxonomy;
    all null when the database has no taxid for it (staxid 0) or the taxonomy lacks it."""

    taxid: int | None = Field(
        description="the subject's taxid (the current one when NCBI merged it); null: none"
    )
    scientific_name: str | None
    common_name: str | None
    superkingdom: str | None = Field(description="Bacteria, Archaea, Eukaryota or Viruses")
    lineage: StandardLineage | None = Field(
        description="the organism's ancestor (or itself) at each standard rank"
    )


class Hsp(Organism):
    """One HSP: BLAST's tabular columns (results.hsps.HSP_FIELDS), the query's place and the
    subject's organism."""

    query_index: int = Field(description="0-based position of the query in the submitted FASTA")
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
    qcovhsp: int
    qcovs: int = Field(description="% of the query covered by all HSPs with this subject")
    staxid: int = Field(description="the subject's NCBI taxid; 0 when the database has none")


class Hit(Organism):
    """One query's hit on one subject, as NCBI's descriptions table shows it
    (results.hits.HIT_FIELDS), with the subject's organism."""

    query_index: int
    query_id: str
    subject_id: str
    subject_title: str
    max_score: float = Field(description="the best HSP's bit score")
    total_score: float = Field(description="the sum of its HSPs' bit scores")
    qcovs: int = Field(description="Query cover: % of the query covered by its HSPs")
    evalue: float = Field(description="the best HSP's e-value")
    pident: float = Field(description="the highest identity of its HSPs")
    slen: int = Field(description="the subject's length (Acc. len)")
    staxid: int
    hsps: int = Field(description="how many HSPs the hit has")


class _Page(BaseModel):
    total: int
    limit: int
    offset: int
    partial: bool = Field(description="the job has not completed: the batches finished so far")
    batches_done: int
    batches_total: int


class HitPage(_Page):
    items: list[Hit]


class HspPage(_Page):
    items: list[Hsp]


class QuerySummary(BaseModel):
    query_index: int = Field(description="0-based position in the submitted FASTA")
    query_id: str
    qlen: int | None = Field(description="known once the query has an HSP")
    hsps: int
    hits: int


class QueryList(BaseModel):
    items: list[QuerySummary]


class Alignment(Organism):
    """One HSP with its aligned sequences, from BLAST's JSON report. Keys BLAST leaves out for
    a program are absent here too: frames for blastn, strands for protein searches, positives
    for nucleotides. The organism is the subject's, as in the hits."""

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
