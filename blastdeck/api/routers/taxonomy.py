"""/api/taxonomy: the NCBI Taxonomy for the search form's organism field (autocomplete, a
taxon's lineage) and for telling a name from its homonyms before a job is submitted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import PLAIN_WHOLE_NUMBER
from blastdeck.api.schemas.taxonomy import StandardLineage, TaxonRefModel
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import MAX_NAME_CHARS, MAX_TAXID
from blastdeck.runtime import Runtime
from blastdeck.taxonomy import STANDARD_RANKS, Taxon, Taxonomy

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 100
MAX_LIMIT = 50


def _taxonomy_of(runtime: Runtime) -> Taxonomy:
    """The runtime's taxonomy (the process's shared one for these settings)."""
    return runtime.taxonomy


@asynccontextmanager
async def _open_index(app: FastAPI) -> AsyncIterator[None]:
    """At app start, after the runtime's own start: open the taxonomy index, building it the
    first time on this machine (~15-60 s, once), so no request ever waits for it or gets a 503
    for it. A broken taxdump dir does not stop the server: the routes answer 503 saying why."""
    try:
        await run_in_threadpool(_taxonomy_of(app.state.runtime).ensure_ready)
    except BlastDeckError as exc:
        log.error("taxonomy unavailable: %s", exc.message)
    yield


# FastAPI runs an included router's lifespan inside the app's.
router = APIRouter(
    prefix="/api/taxonomy", tags=["taxonomy"], responses=ERROR_RESPONSES, lifespan=_open_index
)


def get_taxonomy(runtime: RuntimeDep) -> Taxonomy:
    """The taxonomy, its index open. If it is not (an app used without its lifespan, or a
    runtime's taxonomy not opened yet), the first request starts building it in the
    background and requests get a 503 with Retry-After meanwhile instead of hanging."""
    taxonomy = _taxonomy_of(runtime)
    if not taxonomy.ready_or_building():
        raise BlastDeckError(
            ErrorCode.TAXONOMY_UNAVAILABLE,
            "The taxonomy index is being built (once per data dir, about a minute); try "
            "again shortly.",
            detail={"retry_after_s": "15"},
        )
    return taxonomy


TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]


class LineageEntryModel(BaseModel):
    taxid: int
    name: str
    rank: str


class TaxonModel(BaseModel):
    taxid: int = Field(description="the current taxid (a merged one asked for resolves to it)")
    scientific_name: str
    common_name: str | None
    rank: str = Field(description='NCBI\'s rank: "species", "genus", "no rank", ...')
    parent_taxid: int | None
    lineage: StandardLineage
    full_lineage: list[LineageEntryModel] = Field(
        description="every ancestor from just below the root, down to the taxon itself"
    )
    child_count: int
    descendant_count: int = Field(description="taxa under it, not counting itself")
    merged_from: int | None = Field(
        description="the taxid asked for, when NCBI merged it into this one"
    )


class SearchItem(BaseModel):
    taxid: int
    scientific_name: str
    common_name: str | None
    rank: str
    matched_name: str = Field(description="the name the query is a prefix of")
    name_class: Literal["scientific name", "common name", "synonym"]
    exact: bool = Field(description="the whole name equals the query")


class SearchResult(BaseModel):
    query: str
    items: list[SearchItem]


def _taxon_model(taxon: Taxon) -> TaxonModel:
    lineage = {
        rank: TaxonRefModel(taxid=ref.taxid, name=ref.name) if ref else None
        for rank, ref in taxon.lineage.items()
    }
    return TaxonModel(
        taxid=taxon.taxid,
        scientific_name=taxon.scientific_name,
        common_name=taxon.common_name,
        rank=taxon.rank,
        parent_taxid=taxon.parent_taxid,
        lineage=StandardLineage.model_validate({rank: lineage[rank] for rank in STANDARD_RANKS}),
        full_lineage=[LineageEntryModel(**vars(entry)) for entry in taxon.full_lineage],
        child_count=taxon.child_count,
        descendant_count=taxon.descendant_count,
        merged_from=taxon.merged_from,
    )


@router.get("/search", response_model=SearchResult, response_model_by_alias=True)
def search_taxa(
    taxonomy: TaxonomyDep,
    viewer: ViewerDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="the start of a scientific or common name, any case",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT), PLAIN_WHOLE_NUMBER] = 10,
) -> SearchResult:
    """Autocomplete: taxa whose scientific or common name starts with `q`, one item per
    taxon, best first: exact names; then formal names before unnamed organisms ("uncultured
    ...", "... sp."); then taxa with more taxa under them; then higher ranks; then shorter
    names."""
    items = [SearchItem(**vars(match)) for match in taxonomy.search(q, limit)]
    return SearchResult(query=q, items=items)


@router.get("/resolve", response_model=TaxonModel, response_model_by_alias=True)
def resolve_taxon(
    taxonomy: TaxonomyDep,
    viewer: ViewerDep,
    name: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_NAME_CHARS,
            description='a taxid ("562", "txid562") or a scientific name, any case; also a '
            "common name or synonym that only one taxon has",
        ),
    ],
) -> TaxonModel:
    """The taxon a job filter would mean by this name: `unknown_taxon` (404) with close
    names, or `ambiguous_taxon` (422) listing the taxa that share it."""
    return _taxon_model(taxonomy.get(taxonomy.resolve(name, field="name")))


@router.get("/{taxid}", response_model=TaxonModel, response_model_by_alias=True)
def get_taxon(
    taxonomy: TaxonomyDep,
    viewer: ViewerDep,
    taxid: Annotated[
        int, Path(ge=1, le=MAX_TAXID, description="an NCBI taxid"), PLAIN_WHOLE_NUMBER
    ],
) -> TaxonModel:
    """One taxon: names, rank, lineage at the standard ranks and in full, how many taxa are
    under it. A merged (renumbered) taxid answers with the taxon it was merged into."""
    return _taxon_model(taxonomy.get(taxid))
