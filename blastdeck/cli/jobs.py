"""Jobs: submit (and follow), status, list, cancel, results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from blastdeck.cli.backends import reaching
from blastdeck.cli.options import (
    DataDirOpt,
    JsonOpt,
    ServerOpt,
    TokenOpt,
    blast_options,
    read_file,
    with_taxa,
)
from blastdeck.cli.output import (
    console,
    errors,
    organisms,
    outcome,
    plain,
    print_job_list,
    print_json,
    say,
    step_messages,
    table,
    timeline,
)
from blastdeck.domain.paging import MAX_LIST_PAGE, MAX_OFFSET, MAX_SEARCH_CHARS
from blastdeck.domain.pipeline_model import JobStatus
from blastdeck.domain.wording import counted

if TYPE_CHECKING:
    from blastdeck.results.formats import ExportFormat


def notify_targets(
    webhooks: list[str], secret: str | None, emails: list[str]
) -> list[dict[str, str]] | None:
    """The job's `notify` targets from the options; None (the user's defaults) when none."""
    signed = {"secret": secret} if secret else {}
    hooks = [{"type": "webhook", "url": url} | signed for url in webhooks]
    targets = hooks + [{"type": "email", "to": to} for to in emails]
    return targets or None


def submit(
    query: Annotated[
        Path,
        typer.Argument(
            help="FASTA file with the query sequence(s), or sequence ids (one a line) to read "
            "from the databases; - for stdin"
        ),
    ],
    db: Annotated[
        list[str],
        typer.Option(
            "--db",
            help="database name (blastdeck db list); repeat it, or give a comma-separated "
            "list, to search several databases of one molecule type as one (their union, "
            'as BLAST\'s -db "a b")',
        ),
    ],
    program: Annotated[
        str, typer.Option(help="blastn, blastp, blastx, tblastn or tblastx")
    ] = "blastn",
    title: Annotated[str | None, typer.Option(help="a title for the job")] = None,
    cluster: Annotated[str | None, typer.Option(help="cluster (default: local)")] = None,
    namespace: Annotated[
        str | None, typer.Option(help="namespace (default: the cluster's)")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="BLAST option KEY=VALUE, repeatable")
    ] = None,
    taxids: Annotated[
        str | None,
        typer.Option(
            "--taxids",
            help="search only within these taxa and their descendants: taxids or scientific "
            "names, comma-separated (e.g. 'Enterobacterales,590')",
        ),
    ] = None,
    exclude_taxids: Annotated[
        str | None,
        typer.Option(
            "--exclude-taxids",
            help="leave these taxa and their descendants out (taxids or names, comma-separated)",
        ),
    ] = None,
    notify_webhook: Annotated[
        list[str] | None,
        typer.Option(help="POST the job's end to this http(s) URL (repeatable)"),
    ] = None,
    notify_secret: Annotated[
        str | None, typer.Option(help="sign the webhooks' bodies with this secret (HMAC-SHA256)")
    ] = None,
    notify_email: Annotated[
        list[str] | None, typer.Option(help="e-mail the job's end to this address (repeatable)")
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the job's steps until it ends")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Submit a BLAST search (--db a --db b: several databases as one). Without --server the
    job runs here, so it is always followed.
    --taxids / --exclude-taxids search within organisms (the database needs taxids: see
    `db add --taxid-map`). --notify-webhook / --notify-email: tell of the job's end (without
    them, your defaults; without --server, sent by the next `blastdeck serve` on the data dir)."""
    from blastdeck.domain.submission import SubmitRequest

    text = sys.stdin.buffer.read() if str(query) == "-" else read_file(query)
    names = [name.strip() for value in db for name in value.split(",")]
    request = SubmitRequest(
        program=program,
        database=names[0] if len(names) == 1 else None,
        databases=names if len(names) > 1 else None,
        query=text,
        title=title,
        cluster=cluster,
        namespace=namespace,
        options=with_taxa(blast_options(option or []), taxids, exclude_taxids),
        notify=notify_targets(notify_webhook or [], notify_secret, notify_email or []),
    )
    with reaching(server, data_dir, token) as backend:
        job = backend.submit(request)
        if not (wait or server is None):
            say(job["id"])
            return
        from blastdeck.client import follow

        if console.is_terminal:
            from rich.live import Live

            with Live(timeline(job), console=console, refresh_per_second=8) as live:
                job = follow(backend, job["id"], lambda j: live.update(timeline(j)), 0.2)
                live.update(timeline(job, step_messages(backend.job_events(job["id"]))))
        else:  # a pipe or a file: the timeline once, as it ended (Rich's Live would end it
            # without a newline there, and the next line would be printed onto its last row)
            job = follow(backend, job["id"], lambda _job: None, 0.2)
            console.print(timeline(job, step_messages(backend.job_events(job["id"]))))
        if (within := organisms(job)) is not None:
            say(within)
        done = outcome(job)
        if done is None:
            raise typer.Exit(1)
        say(done)


def import_result(
    file: Annotated[
        Path,
        typer.Argument(help="BLAST XML (-outfmt 5) or a BLAST archive (-outfmt 11) made elsewhere"),
    ],
    title: Annotated[str | None, typer.Option(help="a title for the job")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import a BLAST result made elsewhere as a completed job (no BLAST run: its hits,
    alignments and downloads work like a search's). An archive needs its database registered
    here; an imported XML's only download is the XML itself. Prints the job id and its hits."""
    from blastdeck.domain.errors import BlastDeckError, ErrorCode

    with reaching(server, data_dir, token) as backend:
        if not file.is_file():
            raise BlastDeckError(ErrorCode.FILE_NOT_FOUND, f"No such file: {file}", field="file")
        job = backend.import_result(file, title)
    hits = job["hits_total"]
    say(f"{job['id']} imported: {counted(hits, 'hit')} from {counted(job['query_count'], 'query')}"
        f" against {job['database']}")  # fmt: skip


def status(
    job_id: Annotated[str, typer.Argument(help="job id")],
    as_json: JsonOpt = False,
    commands: Annotated[
        bool,
        typer.Option(
            "--commands",
            help="print instead the exact BLAST+ command line of each batch and why the job "
            "runs as those batches (the page's Config tab; on SLURM, the sbatch scripts)",
        ),
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show a job's phase and step timeline: each step with what it did, or why it was
    skipped or failed, and how long it took."""
    with reaching(server, data_dir, token) as backend:
        if commands:  # plain text, for copying: BLAST arguments are full of [brackets]
            sys.stdout.write(backend.job_commands(job_id))
            return
        job = backend.job(job_id)
        if as_json:
            print_json(job)
            return
        console.print(timeline(job, step_messages(backend.job_events(job_id))))
        for line in (organisms(job), outcome(job)):
            if line is not None:
                say(line)


def jobs(
    status: Annotated[JobStatus | None, typer.Option(help="only jobs of this status")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="title, id, program or database")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIST_PAGE, help="most jobs listed")] = 20,
    offset: Annotated[
        int, typer.Option(min=0, max=MAX_OFFSET, help="jobs skipped, newest first")
    ] = 0,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List jobs, newest first, a line each: id, status, hits, program, when it was submitted,
    database(s) and title (with --server, the jobs your token may see; on the data dir, all of
    them). `status ID` shows one job's steps."""
    if search is not None and len(search) > MAX_SEARCH_CHARS:
        raise typer.BadParameter(f"at most {MAX_SEARCH_CHARS} characters", param_hint="--search")
    with reaching(server, data_dir, token) as backend:
        page = backend.jobs(status.value if status else None, search, limit, offset)
    if as_json:
        print_json(page)
        return
    print_job_list(page["items"])
    shown = len(page["items"])
    if page["total"] > offset + shown:
        # on stderr: a piped list stays one job a line
        errors.print(plain(f"{offset + 1}-{offset + shown} of {page['total']} jobs; --offset "
                           f"{offset + shown} for more"))  # fmt: skip


def cancel(
    job_id: Annotated[str, typer.Argument(help="job id")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Cancel a queued or running job."""
    with reaching(server, data_dir, token) as backend:
        say(f"{job_id}: {backend.cancel(job_id)['phase']}")


def results(
    job_id: Annotated[str, typer.Argument(help="job id")],
    format: Annotated[
        str,
        typer.Option(
            help="tsv, csv, json, xml, xml2, text, html, tabular, asn1, or fasta (the hit "
            "subjects' sequences). All but tsv and csv of the standard columns are made from "
            "BLAST's archive: unless the job's cluster writes it with the search "
            "(archive_with_search), the first of them searches again, about as long as the "
            "job took"
        ),
    ] = "tsv",
    output: Annotated[
        Path | None, typer.Option("--output", "-O", help="file (default: stdout)")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="tsv/csv columns: any BLAST outfmt 6 names, comma-separated (qaccver, sseqid, "
            "qseq, btop, staxids, ...); presets std (12 columns) and ext (Galaxy's 25)"
        ),
    ] = None,
    taxonomy: Annotated[
        bool, typer.Option("--taxonomy", help="print the hits by organism (taxonomy report)")
    ] = False,
    rank: Annotated[
        str | None,
        typer.Option(help="--taxonomy: roll organisms up to this rank (genus, family, ...)"),
    ] = None,
    query_index: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_OFFSET,
            help="--taxonomy, fasta: one query's hits, by its place (0 = the first); default all",
        ),
    ] = None,
    region: Annotated[
        str,
        typer.Option(help="fasta: full (whole subjects) or hsp (each HSP's region, its strand)"),
    ] = "full",
    subjects: Annotated[
        str | None,
        typer.Option(help="fasta: these subject ids of the job, comma-separated; default all"),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Download a completed job's results in one of BLAST's formats, its hit subjects'
    sequences (--format fasta, as blastdbcmd prints them), or (--taxonomy) print its hits by
    organism: the lineage tree and the organism table."""
    with reaching(server, data_dir, token) as backend:
        if taxonomy:
            _print_taxonomy(backend.taxonomy_report(job_id, query_index, _rank(rank)))
            return
        if format.strip().lower() == "fasta":
            target = output or Path(f".blastdeck-results-{job_id[:8]}.fasta")
            backend.hit_fasta(job_id, target, region, subjects, query_index)
            if output is None:
                _to_stdout(target)
            return
        if subjects is not None or region != "full":
            raise _fasta_only("--subjects" if subjects is not None else "--region")
        fmt = _export_format(format)
        target = output or Path(f".blastdeck-results-{job_id[:8]}.{fmt.extension}")
        backend.download(job_id, fmt, target, columns)
        if output is None:
            _to_stdout(target)


def _to_stdout(path: Path) -> None:
    """A downloaded file copied to stdout a piece at a time (it may be gigabytes), then
    removed."""
    import shutil

    try:
        with path.open("rb") as src:
            shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
    finally:
        path.unlink(missing_ok=True)


def _export_format(value: str) -> ExportFormat:
    """The download format `value` names; the error for an unknown one lists fasta too (this
    command's own: the hit sequences)."""
    from blastdeck.domain.errors import BlastDeckError
    from blastdeck.results.formats import parse_export_format

    try:
        return parse_export_format(value)
    except BlastDeckError as exc:
        also = ", or fasta (the hit subjects' sequences)."
        raise BlastDeckError(
            exc.code, exc.message.removesuffix(".") + also, field="format"
        ) from None


def _fasta_only(option: str) -> Exception:
    from blastdeck.domain.errors import BlastDeckError, ErrorCode

    return BlastDeckError(
        ErrorCode.INVALID_REQUEST, f"{option} applies to --format fasta.", field=option[2:]
    )


def _rank(rank: str | None) -> str | None:
    from blastdeck.domain.errors import BlastDeckError, ErrorCode
    from blastdeck.taxonomy.model import STANDARD_RANKS

    if rank is None or rank in STANDARD_RANKS:
        return rank
    raise BlastDeckError(
        ErrorCode.INVALID_REQUEST,
        f"Unknown rank {rank[:40]!r}; use one of {', '.join(STANDARD_RANKS)}.",
        field="rank",
    )


def _print_taxonomy(report: dict) -> None:
    """The lineage tree (indented by depth) and the organism table."""
    which = "the whole job" if report["query_index"] is None else f"query {report['query_id']}"
    say(f"{counted(report['hits'], 'hit')}, {counted(report['subjects'], 'subject')}: {which}")
    tree = [
        ["  " * node["depth"] + (node["name"] or "(no taxid)"), node["rank"] or "",
         node["taxid"], node["hits"], node["subjects"]]
        for node in report["tree"]
    ]  # fmt: skip
    console.print(table("taxon", "rank", "taxid", "hits", "subjects", rows=tree))
    organisms = [
        [o["scientific_name"] or "(no taxid)", o["taxid"], o["rank"] or "", o["hits"],
         o["subjects"], f"{o['best_bitscore']:g}", f"{o['best_evalue']:.3g}",
         f"{o['best_pident']:.2f}"]
        for o in report["organisms"]
    ]  # fmt: skip
    columns = ("organism", "taxid", "rank", "hits", "subjects", "best bits", "best e-value",
               "best ident.")  # fmt: skip
    console.print(table(*columns, rows=organisms, whole=("organism",)))
    if report["hits"] and all(o["taxid"] == 0 for o in report["organisms"]):
        say(
            "None of these subjects has a taxid: the database was added without taxids, so "
            "its hits cannot be grouped by organism (blastdeck db add NAME FASTA --taxid-map)."
        )
