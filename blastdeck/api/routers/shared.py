"""/api/shared/{token}: what a share link's holder reads, without signing in (even with auth
on): the job's JSON and its results, with the same parameters and answers as under
/api/jobs/{id}/..., and nothing else (no other job, no cancel, no delete, no query edit).

The result routes are the very endpoints of routers/results.py and job_taxonomy.py, mounted
again with the job and viewer taken from the link instead of from the path and the sign-in:
one implementation, so the two can never answer differently.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse

from blastdeck.api.deps import RuntimeDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.payloads import job_model
from blastdeck.api.routers import job_taxonomy, results
from blastdeck.api.schemas.shares import SharedJob, SharedLinks
from blastdeck.api.schemas.taxonomy import TaxonomyReport
from blastdeck.results.formats import ExportFormat
from blastdeck.sharing import OpenShare
from blastdeck.store.shares import MAX_TOKEN_CHARS

router = APIRouter(prefix="/api/shared", tags=["shared"], responses=ERROR_RESPONSES)


def open_share(
    request: Request,
    runtime: RuntimeDep,
    token: Annotated[str, Path(max_length=MAX_TOKEN_CHARS, description="the link's token")],
) -> OpenShare:
    client = request.client.host if request.client else "unknown"
    return runtime.shares.open(token, client)


ShareDep = Annotated[OpenShare, Depends(open_share)]


@router.get("/{token}")
def shared_job(request: Request, share: ShareDep) -> SharedJob:
    """The shared job as its link's holder sees it, with where its results are."""
    base = str(request.url).split("?", 1)[0].rstrip("/")
    links = SharedLinks(
        self=base,
        hits=f"{base}/hits",
        hsps=f"{base}/hsps",
        queries=f"{base}/queries",
        alignments=f"{base}/alignments",
        download=f"{base}/download",
        taxonomy=f"{base}/taxonomy",
    )
    return SharedJob(job=job_model(share.job), links=links)


def _through_share(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` with its `viewer` and `job_id` parameters replaced by the link's: FastAPI
    reads the wrapper's signature (every other parameter as the endpoint declares it)."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    kept = [
        p.replace(annotation=hints[name])
        for name, p in signature.parameters.items()
        if name not in ("viewer", "job_id")
    ]
    share = inspect.Parameter("share", inspect.Parameter.KEYWORD_ONLY, annotation=ShareDep)
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + [share]

    if inspect.iscoroutinefunction(endpoint):

        async def wrapper(share: OpenShare, **kwargs: Any) -> Any:
            return await endpoint(viewer=share.viewer, job_id=share.job.id, **kwargs)
    else:

        def wrapper(share: OpenShare, **kwargs: Any) -> Any:  # type: ignore[misc]
            return endpoint(viewer=share.viewer, job_id=share.job.id, **kwargs)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=hints.get("return", inspect.Signature.empty)
    )
    wrapper.__name__ = f"shared_{endpoint.__name__}"
    wrapper.__doc__ = f"As `/api/jobs/{{id}}/...` for the shared job.\n\n{endpoint.__doc__ or ''}"
    return wrapper


_DOWNLOADS = {f.media_type: {} for f in ExportFormat} | {results.FASTA_TYPE: {}}
for _path, _endpoint, _extra in (
    ("hits", results.job_hits, {}),
    ("hsps", results.job_hsps, {}),
    ("queries", results.job_queries, {}),
    ("alignments", results.job_alignments, {"response_model_exclude_unset": True}),
    ("download", results.download,
     {"response_class": FileResponse, "responses": {200: {"content": _DOWNLOADS}}}),
    ("taxonomy", job_taxonomy.job_taxonomy,
     {"response_model": TaxonomyReport, "responses": {200: {"content": {job_taxonomy.TSV: {}}}}}),
):  # fmt: skip
    router.get(f"/{{token}}/{_path}", **_extra)(_through_share(_endpoint))
# HEAD of a download, as under /api/jobs (download managers and `curl -I` ask first).
router.head("/{token}/download", include_in_schema=False)(_through_share(results.download))
