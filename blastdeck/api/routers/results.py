"""A job's results: /api/jobs/{id}/hits, /hsps, /queries, /alignments and /download.

Hits and HSPs are read from the job's columnar index (results/browse.py): while the job runs,
the batches finished so far (`partial`), then all of them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.file_stream import OpenFileResponse
from blastdeck.api.params import (
    MAX_OFFSET,
    PLAIN_NUMBER,
    PLAIN_WHOLE_NUMBER,
    JobId,
    Offset,
    PageLimit,
    RowPageLimit,
)
from blastdeck.api.payloads import alignment_model
from blastdeck.api.routers.taxonomy import get_taxonomy
from blastdeck.api.schemas.results import (
    AlignmentPage,
    Hit,
    HitPage,
    Hsp,
    HspPage,
    QueryList,
    QuerySummary,
)
from blastdeck.auth import Viewer
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.pipeline_model import Phase
from blastdeck.domain.taxon_filter import MAX_TAXID
from blastdeck.results.browse import (
    HitSort,
    HspSort,
    ResultFilter,
    StaxidKey,
    hit_page,
    hsp_page,
    query_summary,
)
from blastdeck.results.columns import MAX_COLUMNS_CHARS, Source, needs, parse_columns
from blastdeck.results.formats import ExportFormat, parse_export_format
from blastdeck.results.hit_sequences import (
    FASTA_TYPE,
    MAX_SUBJECTS_CHARS,
)
from blastdeck.results.hsp_index import HspTable
from blastdeck.results.organisms import (
    TaxonRows,
    organism_sort_key,
    subject_taxids,
    with_organisms,
)
from blastdeck.runtime import Runtime
from blastdeck.taxonomy import Taxonomy

router = APIRouter(prefix="/api/jobs", tags=["results"], responses=ERROR_RESPONSES)

# Filters on percentages and e-values; a ceiling keeps inf and absurd values out.
Percent = Annotated[float | None, Query(ge=0, le=100), PLAIN_NUMBER]
MAX_EVALUE = 1e300
MaxEvalue = Annotated[float | None, Query(ge=0, le=MAX_EVALUE), PLAIN_NUMBER]
QueryId = Annotated[str | None, Query(max_length=200, description="every query with this id")]
QueryIndex = Annotated[
    int | None,
    Query(ge=0, le=MAX_OFFSET, description="the query at this place (from /queries)"),
    PLAIN_WHOLE_NUMBER,
]
TaxonParam = Annotated[
    int | None,
    Query(ge=1, le=MAX_TAXID, description="an NCBI taxid: its organisms and all under it"),
    PLAIN_WHOLE_NUMBER,
]
Order = Annotated[
    Literal["asc", "desc"] | None,
    Query(description="default: high first for scores, identities and lengths"),
]


@router.get("/{job_id}/hits")
def job_hits(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    sort: HitSort = "evalue",
    order: Order = None,
    limit: RowPageLimit = 100,
    offset: Offset = 0,
    query_id: QueryId = None,
    query_index: QueryIndex = None,
    min_pident: Percent = None,
    min_qcovs: Percent = None,
    max_evalue: MaxEvalue = None,
    taxid: TaxonParam = None,
) -> HitPage:
    """The hits: one row per query and subject, as NCBI's descriptions table (max score, total
    score, query cover, best e-value, highest identity, subject length, HSP count), each with
    its subject's organism. Default order is BLAST's: e-value, then max score, then query
    order; `sort=query` is input order, `sort=organism` by scientific name. `taxid` keeps the
    hits on that taxon or any taxon under it."""
    table = runtime.service.results_index(job_id, viewer)
    taxon, organism_key = _by_organism(runtime, table, taxid, sort)
    filters = ResultFilter(query_id, query_index, min_pident, min_qcovs, max_evalue, taxon=taxon)
    rows, total = hit_page(table, sort, _descending(order), filters, limit, offset, organism_key)
    job = runtime.service.get(job_id, viewer)
    items = [Hit(**row) for row in with_organisms(rows, _names(runtime))]
    return HitPage(items=items, **_page_of(job, total, limit, offset))


@router.get("/{job_id}/hsps")
def job_hsps(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    sort: HspSort = "evalue",
    order: Order = None,
    limit: RowPageLimit = 100,
    offset: Offset = 0,
    query_id: QueryId = None,
    query_index: QueryIndex = None,
    min_pident: Percent = None,
    min_qcovhsp: Percent = None,
    max_evalue: MaxEvalue = None,
    subject_id: Annotated[str | None, Query(max_length=200, description="one subject's")] = None,
    taxid: TaxonParam = None,
) -> HspPage:
    """Every HSP of the job with its subject's organism, filtered; by default BLAST's order
    (e-value, then bit score, then query order); `sort=query` is input order, BLAST's own
    within a query; `sort=organism` by scientific name. `taxid`: as in /hits."""
    table = runtime.service.results_index(job_id, viewer)
    taxon, organism_key = _by_organism(runtime, table, taxid, sort)
    filters = ResultFilter(
        query_id,
        query_index,
        min_pident,
        min_qcovhsp,
        max_evalue,
        subject_id=subject_id,
        taxon=taxon,
    )
    rows, total = hsp_page(table, sort, _descending(order), filters, limit, offset, organism_key)
    job = runtime.service.get(job_id, viewer)
    items = [Hsp(**row) for row in with_organisms(rows, _names(runtime))]
    return HspPage(items=items, **_page_of(job, total, limit, offset))


def _names(runtime: Runtime) -> Taxonomy | None:
    """The taxonomy when its index is open: organisms are named; otherwise (being built, or
    a broken taxdump dir) rows still list, with their organism null."""
    try:
        return runtime.taxonomy if runtime.taxonomy.ready_or_building() else None
    except BlastDeckError:
        return None


def _by_organism(
    runtime: Runtime, table: HspTable, taxid: int | None, sort: str
) -> tuple[TaxonRows | None, StaxidKey | None]:
    """The taxon filter and the organism sort key, when asked for (they need the taxonomy:
    503 taxonomy_unavailable while it is not open; an unknown taxid is unknown_taxon)."""
    if taxid is None and sort != "organism":
        return None, None
    taxonomy = get_taxonomy(runtime)
    taxon = TaxonRows(taxonomy, taxid, table.cache) if taxid is not None else None
    return taxon, organism_sort_key(taxonomy, table.cache)


def _descending(order: str | None) -> bool | None:
    return order == "desc" if order else None


def _page_of(job, total: int, limit: int, offset: int) -> dict[str, object]:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "partial": job.phase != Phase.COMPLETED,
        "batches_done": job.batches_done,
        "batches_total": job.batches_total,
    }


@router.get("/{job_id}/queries")
def job_queries(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> QueryList:
    """Every query of the job (those indexed so far while it runs), in input order, with its
    length and its hit and HSP counts. Queries are told apart by `query_index`: two may share
    an id, as BLAST allows."""
    table = runtime.service.results_index(job_id, viewer)
    return QueryList(items=[QuerySummary(**q) for q in query_summary(table)])


@router.get("/{job_id}/alignments", response_model_exclude_unset=True)
async def job_alignments(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    query_index: QueryIndex = None,
    query_id: Annotated[
        str | None, Query(max_length=200, description="the first query with it")
    ] = None,
    limit: PageLimit = 20,
    offset: Offset = 0,
) -> AlignmentPage:
    """One query's HSPs with their aligned sequences (query, midline, subject), in BLAST's
    order; the query by its place (`query_index`, from /queries) or by its id. A query's first
    request searches it again alone (about a second, whatever the job's size), or splits the
    job's JSON download when that exists. Keys BLAST leaves out for the program are absent
    (see Alignment)."""
    if query_index is None:
        if query_id is None:
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST, "Give query_index (or query_id).", field="query_index"
            )
        table = await run_in_threadpool(runtime.service.results_index, job_id, viewer)
        found = [i for i, qid in sorted(table.query_ids.items()) if qid == query_id]
        query_index = found[0] if found else -1
    rows = await run_in_threadpool(runtime.service.alignments, job_id, query_index, viewer)
    page = rows[offset : offset + limit]
    if page:
        table = await run_in_threadpool(runtime.service.results_index, job_id, viewer)
        taxids = subject_taxids(table, query_index)
        page = with_organisms(
            [row | {"staxid": taxids.get(row["subject_id"], 0)} for row in page], _names(runtime)
        )
    return AlignmentPage(
        items=[alignment_model(row) for row in page],
        total=len(rows),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {f.media_type: {} for f in ExportFormat} | {FASTA_TYPE: {}}}},
)
async def download(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    format: str = "tsv",
    columns: Annotated[
        str | None,
        Query(
            max_length=MAX_COLUMNS_CHARS,
            description="tsv and csv: any of BLAST's outfmt 6 specifiers (qseqid ... qcovus), "
            "comma-separated; presets std (the 12 standard columns) and ext (Galaxy's 25)",
        ),
    ] = None,
    region: Annotated[
        str,
        Query(max_length=20, description="fasta: full (whole subjects) or hsp (each HSP's region)"),
    ] = "full",
    subjects: Annotated[
        str | None,
        Query(
            max_length=MAX_SUBJECTS_CHARS,
            description="fasta: these subject ids of the job, comma-separated (default: all)",
        ),
    ] = None,
    query_index: QueryIndex = None,
) -> Response:
    """The whole result as one document: tsv, csv, json, xml, xml2, text (pairwise), html,
    tabular (commented hit table) or asn1. Sent as an attachment with its file name
    (`Content-Disposition`), so `curl -OJ` saves it under that name. tsv and csv have BLAST's
    12 standard columns, or those `columns` names (streamed; a header line names them; rows as
    BLAST prints them: columns the hit table lacks come from blast_formatter on the job's archives,
    made first if missing; 422 `unknown_column`, or `column_not_for_program` for qcovus outside
    blastn). The first request of a format makes the file and is sent while it is made
    (chunked, no Content-Length); requests meanwhile read the same file. A download that has
    started ends whole even if the job is deleted meanwhile (one whose file fails midway is cut:
    the connection closes without the body's end); one asked for after (or before the file's
    first byte) answers 404 `job_not_found`.

    `format=fasta`: the hit subjects' sequences as `blastdbcmd` prints them (streamed), whole
    (`region=full`) or each HSP's aligned region on its strand (`region=hsp`); of `subjects`
    (ids the job has hits on, else 422 `subjects_not_in_job`), or of one query's hits
    (`query_index`), or of every hit."""
    if format.strip().lower() == "fasta":
        return await _hit_fasta(runtime, viewer, job_id, region, subjects, query_index)
    if subjects is not None or query_index is not None:
        raise BlastDeckError(
            ErrorCode.INVALID_REQUEST,
            "subjects and query_index apply to the fasta download.",
            field="subjects" if subjects is not None else "query_index",
        )
    fmt = parse_export_format(format)
    filename = f"blastdeck-{job_id[:8]}.{fmt.extension}"
    if columns is not None:
        if fmt not in (ExportFormat.TSV, ExportFormat.CSV):
            raise BlastDeckError(
                ErrorCode.INVALID_REQUEST,
                f"columns applies to the tsv and csv downloads, not {fmt.value}.",
                field="columns",
            )
        chosen = parse_columns(columns)
        taxonomy = get_taxonomy(runtime) if needs(chosen, Source.TAXONOMY) else None
        body = await run_in_threadpool(
            runtime.service.export_columns,
            job_id,
            chosen,
            fmt is ExportFormat.CSV,
            taxonomy,
            viewer,
        )
        return StreamingResponse(
            body,
            media_type=fmt.media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    handle = await run_in_threadpool(runtime.service.open_export, job_id, fmt, viewer)
    return OpenFileResponse(handle, media_type=fmt.media_type, filename=filename)


async def _hit_fasta(
    runtime: Runtime,
    viewer: Viewer,
    job_id: str,
    region: str,
    subjects: str | None,
    query_index: int | None,
) -> Response:
    body = await run_in_threadpool(
        runtime.service.hit_sequences, job_id, region, subjects, query_index, viewer
    )
    name = f"blastdeck-{job_id[:8]}-{region.strip().lower()}.fasta"
    return StreamingResponse(
        body,  # a plain iterator: Starlette reads it in a worker thread
        media_type=FASTA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# HEAD: download managers and `curl -I` ask first. The same answer without its body (one
# operation in the OpenAPI document, where HEAD is implied by GET).
router.head("/{job_id}/download", include_in_schema=False)(download)
