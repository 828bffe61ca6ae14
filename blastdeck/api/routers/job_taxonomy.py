"""/api/jobs/{id}/taxonomy: a job's taxonomy report (its hits by organism: a lineage tree and
an organism table), for one query or the whole job, as JSON or a TSV download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import MAX_OFFSET, PLAIN_WHOLE_NUMBER, JobId
from blastdeck.api.routers.taxonomy import get_taxonomy
from blastdeck.api.schemas.taxonomy import TaxonomyReport
from blastdeck.taxonomy import STANDARD_RANKS

router = APIRouter(prefix="/api/jobs", tags=["results"], responses=ERROR_RESPONSES)

Rank = Literal[STANDARD_RANKS]  # type: ignore[valid-type]
TSV = "text/tab-separated-values"


@router.get(
    "/{job_id}/taxonomy",
    response_model=TaxonomyReport,
    responses={200: {"content": {TSV: {}}}},
)
async def job_taxonomy(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    query_index: Annotated[
        int | None,
        Query(ge=0, le=MAX_OFFSET, description="one query, by its place"),
        PLAIN_WHOLE_NUMBER,
    ] = None,
    query_id: Annotated[
        str | None, Query(max_length=200, description="one query: the first with this id")
    ] = None,
    rank: Annotated[
        Rank | None, Query(description="roll the organisms up to their ancestor at this rank")
    ] = None,
    format: Literal["json", "tsv"] = "json",
) -> Response:
    """The job's hits by organism, like NCBI's taxonomy reports: the lineage tree (standard
    ranks) with the hits (query-subject pairs) and distinct subjects under each node, and the
    organism table (hits, subjects, best bit score, e-value and identity), for one query or
    the whole job. `rank=genus` reports genera (a lineage without a genus: its nearest
    ancestor at a rank above).
    `format=tsv`: the organism table as a download. Made on first request and kept."""
    taxonomy = get_taxonomy(runtime)
    entry = await run_in_threadpool(
        runtime.service.taxonomy_report,
        job_id,
        taxonomy,
        query_index=query_index,
        query_id=query_id,
        rank=rank,
        viewer=viewer,
    )
    # The bytes kept with the report (the same JSON as TaxonomyReport), not re-encoded.
    body = await run_in_threadpool(entry.encoded, format)
    if format == "tsv":
        report = entry.report
        which = "all" if report["query_index"] is None else f"q{report['query_index']}"
        name = f"blastdeck-{report['job_id'][:8]}-taxonomy-{which}.tsv"
        return Response(
            body, media_type=TSV, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    return Response(body, media_type="application/json")
