"""/api/jobs/{id}/shares: the job's owner creates, lists and revokes read-only links to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import JobId
from blastdeck.api.schemas.shares import Share, ShareCreate, ShareCreated, ShareList
from blastdeck.sharing import MAX_SHARE_ID_CHARS
from blastdeck.store.models import utcnow
from blastdeck.store.shares import ShareInfo

router = APIRouter(prefix="/api/jobs", tags=["shares"], responses=ERROR_RESPONSES)
ShareId = Annotated[str, Path(max_length=MAX_SHARE_ID_CHARS, description="from /shares")]


def share_model(info: ShareInfo) -> Share:
    return Share(
        id=info.id,
        job_id=info.job_id,
        created_at=info.created_at.isoformat(),
        expires_at=info.expires_at.isoformat() if info.expires_at else None,
        revoked_at=info.revoked_at.isoformat() if info.revoked_at else None,
        active=info.active(utcnow()),
    )


@router.post("/{job_id}/shares", status_code=201)
def create_share(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    job_id: JobId,
    body: ShareCreate | None = None,
) -> ShareCreated:
    """A new read-only link to the job: anyone holding `url` sees its results and downloads
    without signing in (and nothing else) until it expires or is revoked. The token is in
    `url` and `api_url` and shown only now (only its hash is stored); a job can have several."""
    body = body or ShareCreate()
    info, token = runtime.shares.create(job_id, viewer, body.expires_at, body.expires_in_days)
    base = str(request.base_url).rstrip("/")
    return ShareCreated(
        **share_model(info).model_dump(),
        url=f"{base}/shared/{token}",
        api_url=f"{base}/api/shared/{token}",
    )


@router.get("/{job_id}/shares")
def list_shares(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId) -> ShareList:
    """Every link made to the job, revoked and expired ones too (never their tokens)."""
    return ShareList(items=[share_model(s) for s in runtime.shares.of_job(job_id, viewer)])


@router.delete("/{job_id}/shares/{share_id}")
def revoke_share(runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId, share_id: ShareId) -> Share:
    """Revoke a link: from now on it answers 404 like one that never existed. Revoking again
    changes nothing."""
    return share_model(runtime.shares.revoke(job_id, share_id, viewer))
