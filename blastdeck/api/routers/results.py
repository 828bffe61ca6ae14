"""A job's results: /api/jobs/{id}/hits, /queries, /alignments and /download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import JobId, Offset, page_size
from blastdeck.api.payloads import alignment_model, hit_model
from blastdeck.api.schemas.results import AlignmentPage, HitPage, QueryList, QuerySummary
from blastdeck.results.exports import ExportFormat, parse_export_format
from blastdeck.store.jobs import HitFilter, HitSort

router = APIRouter(prefix="/api/jobs", tags=["results"], responses=ERROR_RESPONSES)

# Filters on percentages and e-values; a ceiling keeps inf and absurd values out of the SQL.
Percent = Annotated[float | None, Query(ge=0, le=100)]
MAX_EVALUE = 1e300


@router.get("/{job_id}/hits")
def job_hits(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    sort: HitSort = "evalue",
    order: Literal["asc", "desc"] | None = None,
    limit: Annotated[int, page_size(1000)] = 100,
    offset: Offset = 0,
    query_id: Annotated[str | None, Query(max_length=200)] = None,
    min_pident: Percent = None,
    min_qcovhsp: Percent = None,
    max_evalue: Annotated[float | None, Query(ge=0, le=MAX_EVALUE)] = None,
) -> HitPage:
    """Every HSP of the job, filtered; by default the best first (lowest e-value). `sort=query`
    is input order. Scores and identities sort high first unless `order` says otherwise."""
    job = runtime.service.get(job_id, viewer)
    descending = order == "desc" if order else sort in ("bitscore", "pident", "qcovhsp", "length")
    filters = HitFilter(query_id, min_pident, min_qcovhsp, max_evalue)
    rows, total = runtime.jobs.hits(
        job.id, sort=sort, descending=descending, limit=limit, offset=offset, filters=filters
    )
    return HitPage(items=[hit_model(h) for h in rows], total=total, limit=limit, offset=offset)


@router.get("/{job_id}/queries")
def job_queries(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> QueryList:
    """The queries that have hits, in input order, with their length and HSP count."""
    job = runtime.service.get(job_id, viewer)
    return QueryList(
        items=[
            QuerySummary(query_id=query_id, query_index=index, qlen=qlen, hits=count)
            for index, query_id, qlen, count in runtime.jobs.hit_queries(job.id)
        ]
    )


@router.get("/{job_id}/alignments", response_model_exclude_unset=True)
async def job_alignments(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    query_id: Annotated[str, Query(max_length=200)],
    limit: Annotated[int, page_size(500)] = 20,
    offset: Offset = 0,
) -> AlignmentPage:
    """One query's HSPs with their aligned sequences (query, midline, subject), in BLAST's
    order. The first request of a job builds them from its BLAST JSON (BLAST runs again once).
    Keys BLAST leaves out for the program are absent (see Alignment)."""
    rows = await run_in_threadpool(runtime.service.alignments, job_id, query_id, viewer)
    return AlignmentPage(
        items=[alignment_model(row) for row in rows[offset : offset + limit]],
        total=len(rows),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {f.media_type: {} for f in ExportFormat}}},
)
async def download(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    format: str = "tsv",
) -> FileResponse:
    """The whole result as one document: tsv, csv, json, xml, xml2, text (pairwise), html,
    tabular (commented hit table) or asn1."""
    fmt = parse_export_format(format)
    path = await run_in_threadpool(runtime.service.export, job_id, fmt, viewer)
    return FileResponse(
        path, media_type=fmt.media_type, filename=f"blastdeck-{job_id[:8]}.{fmt.extension}"
    )
