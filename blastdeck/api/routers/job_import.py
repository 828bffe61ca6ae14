"""POST /api/jobs/import: a BLAST result made elsewhere (XML or archive) becomes a job.

The upload is streamed to a file in the data dir as it arrives (never held in memory, never
written outside the data dir; the request-body limit, `BLASTDECK_MAX_UPLOAD_BYTES`, applies as
to every upload), then read by `job_import.py`, which moves it into the job or removes it.
"""

from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.multipart_spool import spool_multipart
from blastdeck.api.payloads import job_model
from blastdeck.api.schemas.jobs import Job
from blastdeck.job_import import MAX_TITLE_CHARS

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "BLAST XML (-outfmt 5) or a BLAST archive "
                            "(-outfmt 11), told apart by content",
                        },
                        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
                    },
                }
            }
        },
    }
}


@router.post("/import", status_code=201, openapi_extra=_IMPORT_BODY)
async def import_job(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Job:
    """Import a BLAST result made elsewhere: BLAST XML (`-outfmt 5`) or a BLAST archive
    (`-outfmt 11`). It becomes a completed job (source `imported`) whose hits, alignments and
    downloads work like a search's; a file that is not whole, or not BLAST's, is refused and
    nothing is stored. An archive needs its database registered here (blast_formatter reads
    it); an imported XML's downloads are its XML only (other formats: `format_unavailable`)."""
    jobs_dir = runtime.settings.jobs_dir
    jobs_dir.mkdir(parents=True, exist_ok=True)
    spool = jobs_dir / f".upload-{uuid.uuid4().hex}.part"
    try:
        fields, filenames = await spool_multipart(
            request, {"file": spool}, "the BLAST XML or archive"
        )
        title = fields.get("title")
        job = await run_in_threadpool(
            partial(
                runtime.imports.import_file,
                spool,
                viewer,
                title=title,
                filename=filenames["file"],
                take=True,
            )
        )
    finally:
        spool.unlink(missing_ok=True)
    return job_model(job)
