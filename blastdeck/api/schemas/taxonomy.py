"""Taxa as answers show them: a taxon named by id, and a lineage at the standard ranks (the
taxonomy routes, and every hit's and HSP's organism)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TaxonRefModel(BaseModel):
    taxid: int
    name: str


class StandardLineage(BaseModel):
    """The taxon's ancestor (or itself) at each standard rank; null where it has none."""

    superkingdom: TaxonRefModel | None
    phylum: TaxonRefModel | None
    class_: TaxonRefModel | None = Field(alias="class", serialization_alias="class")
    order: TaxonRefModel | None
    family: TaxonRefModel | None
    genus: TaxonRefModel | None
    species: TaxonRefModel | None


class TaxonomyNode(BaseModel):
    """A node of a job's lineage tree (pre-order: a node's subtree follows it)."""

    taxid: int = Field(description="0: subjects without a known organism")
    name: str | None
    rank: str | None
    parent_taxid: int | None = Field(description="null for a top-level node")
    depth: int = Field(description="0 for a top-level node")
    hits: int = Field(description="hits (query-subject pairs) of the organisms at or under it")
    subjects: int = Field(description="distinct subjects of the organisms at or under it")


class TaxonomyOrganism(BaseModel):
    taxid: int = Field(description="0: subjects without a known organism")
    scientific_name: str | None
    common_name: str | None
    rank: str | None
    hits: int = Field(description="hits (query-subject pairs)")
    subjects: int = Field(description="distinct subjects")
    best_bitscore: float
    best_evalue: float
    best_pident: float
    lineage: list[str] = Field(description="names at the standard ranks, superkingdom first")


class TaxonomyReport(BaseModel):
    """A job's hits by organism, like NCBI's BLAST taxonomy reports."""

    job_id: str
    query_index: int | None = Field(description="the query reported on; null: the whole job")
    query_id: str | None
    rank: str | None = Field(description="organisms rolled up to this rank; null: as found")
    partial: bool = Field(description="the job has not completed: the batches finished so far")
    hits: int
    subjects: int = Field(description="distinct subjects with a hit")
    tree: list[TaxonomyNode]
    organisms: list[TaxonomyOrganism] = Field(description="best bit score first")
