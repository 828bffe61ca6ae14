"""Random searches against BLAST+ itself: every program, random queries and random BLAST options
from the allow-list, now and then within or without random organisms, on one BLAST process and
on a cluster that splits the job into batches.

The oracle is BLAST: each case is also run as the command a user would type (`blastn -query
q.fa -db DB -outfmt 6` and the options as BLAST's own arguments, built here from the option
names, not by BlastDeck). For each case:

- BlastDeck accepts the options and BLAST runs them: the job completes and its TSV download's
  rows are BLAST's, in BLAST's order (and, one case in four, its XML, JSON or XML2 download is
  what blast_formatter makes of BLAST's archive of the same search, byte for byte but for the
  per-query search statistics and, in a split job, which query letters show masked);
- BlastDeck accepts options that BLAST refuses: a failure (a job would fail only once it runs;
  `domain/option_rules.py` refuses such combinations up front);
- BlastDeck refuses them: a 422 with an option error code, a message and the field. A refusal
  of options BLAST would run is counted (some are deliberate: a zero reward has no statistics)
  and listed in the report, not failed.

About one case in three searches within organisms (`taxids`, `negative_taxids` or both, as
names or taxids) on a copy of its database built with a taxid map of real taxa. The oracle's
list is worked out here from taxoniq's lineages (a database taxid is kept when the taxon asked
for is in its lineage), not by BlastDeck's taxonomy, and handed to BLAST as `-taxidlist` or
`-negative_taxidlist`. A filter that leaves nothing of the database, or names one taxon in
both lists, must be refused with `taxon_filter_empty` or `taxon_filter_conflict`. Of the
others, about one in seven searches its database together with another (`databases: [a, b]`,
BLAST's `-db "a b"`): a copy built the same way (every subject twice, so `max_target_seqs`
cuts among ties), or the copy built with -parse_seqids, which BLAST+ refuses to search with it
(so must BlastDeck, with `databases_not_searchable_together`, at submit).

`BLASTDECK_DIFF_SEED` replays a run (the seed is in every failure message) and
`BLASTDECK_DIFF_CASES` sets how many cases (default 30); `bench/random_options.py` runs many
more and writes what it found (`BLASTDECK_DIFF_REPORT`: a JSON file for the report).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import taxoniq
from fastapi.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.domain.option_table import (
    ALLOWED_OPTIONS,
    OptionKind,
    OptionSpec,
    allowed_options,
)
from blastdeck.domain.programs import Program
from tests.conftest import (
    DEMO_DIR,
    add_split_cluster,
    api_job,
    back_translate,
    fasta,
    make_settings,
    read_fasta,
    wait_for_job,
)

SEED = int(os.environ.get("BLASTDECK_DIFF_SEED") or random.SystemRandom().randrange(2**31))
CASES = int(os.environ.get("BLASTDECK_DIFF_CASES") or 30)
REPORT = os.environ.get("BLASTDECK_DIFF_REPORT")
# The codes an option refusal may carry (domain/options.py, domain/option_rules.py).
OPTION_ERRORS = {"invalid_option_value", "option_not_allowed"}
# Which database and which kind of query each program searches with.
SEARCHES = {
    Program.BLASTN: ("genes", "gene"),
    Program.BLASTP: ("proteins", "protein"),
    Program.BLASTX: ("proteins", "coding"),
    Program.TBLASTN: ("coding", "protein"),
    Program.TBLASTX: ("coding", "coding"),
}
# The organisms of the databases' copies with taxids (each sequence one of these, or none), and
# the taxa a filter names: as a user writes them, with the taxid the oracle reads it as.
DATABASE_TAXA = (562, 28901, 573, 287, 294, 1423, 1280, 1773, 9606, 10090, 4932, None)
FILTER_TAXA = (
    ("Enterobacterales", 91347), ("Escherichia coli", 562), ("562", 562), ("txid573", 573),
    ("Pseudomonas", 286), ("Bacillota", 1239), ("Mammalia", 40674), ("Bacteria", 2),
    ("Enterobacteriaceae", 543), ("Homo sapiens", 9606), ("Fungi", 4751), ("Archaea", 2157),
    ("201174", 201174),
)  # fmt: skip
TAXON_ERRORS = {"taxon_filter_empty", "taxon_filter_conflict"}
TOGETHER_ERROR = "databases_not_searchable_together"
PARSED_ID = re.compile(r"t\d{4}")  # a subject id of a database's -parse_seqids copy
RAW_TIMEOUT_S = 120  # a case whose BLAST+ run takes longer is counted, not judged
BLAST_ENV = {**os.environ, "BLASTDB": "."}  # BLAST's runs find the databases by bare name


@dataclass
class Case:
    number: int
    program: Program
    cluster: str
    queries: list[tuple[str, str]]
    options: dict[str, Any]
    taxa: dict[str, Any] = field(default_factory=dict)  # taxids / negative_taxids
    # Searched together with the database: "again" (a copy built the same way) or "taxa" (its
    # copy built with -parse_seqids, which BLAST+ refuses to search with it)
    beside: str = ""
    formatted: str = ""  # also compare the job's download in this format (`FORMATTED`)

    @property
    def database(self) -> str:
        """The database searched: its copy with taxids when the case filters by organism."""
        name = SEARCHES[self.program][0]
        return f"{name}_taxa" if self.taxa else name

    @property
    def databases(self) -> list[str]:
        return [self.database, f"{self.database}_{self.beside}"] if self.beside else [self.database]

    def describe(self) -> str:
        shown = json.dumps({**self.options, **self.taxa}, sort_keys=True)
        letters = [len(s) for _, s in self.queries]
        return (
            f"case {self.number} (BLASTDECK_DIFF_SEED={SEED}): {self.program.value} on "
            f"{self.cluster} in {' + '.join(self.databases)}, {len(self.queries)} queries of "
            f"{letters} letters, options {shown}"
        )


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    refused_blast_runs: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


# -- the data: databases built here, queries cut from their sequences ---------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("random-options")
    rng = random.Random(0)  # the same databases in every run: the cases are what varies
    genes = read_fasta(DEMO_DIR / "demo-16s.fa")
    proteins = read_fasta(DEMO_DIR / "demo-proteins.fa")
    coding = [(f"cds{i} {title}", back_translate(seq, rng, rng.random() < 0.5))
              for i, (title, seq) in enumerate(proteins)]  # fmt: skip
    sequences = {"genes": genes, "proteins": proteins, "coding": coding}
    molecules = {"genes": "nucl", "proteins": "prot", "coding": "nucl"}
    prefixes, database_taxids = {}, {}

    def makeblastdb(fasta_name: str, name: str, molecule: str, *flags: str) -> None:
        build = ["makeblastdb", "-in", fasta_name, "-dbtype", molecule, "-out", name, *flags]
        subprocess.run(build, check=True, capture_output=True, cwd=work)
        prefixes[name] = work / name

    for name, records in sequences.items():
        (work / f"{name}.fa").write_text(fasta(records))
        makeblastdb(f"{name}.fa", name, molecules[name])
        makeblastdb(f"{name}.fa", f"{name}_again", molecules[name])  # the same, another name
        # The copy with taxids: the same sequences under ids of their own, a random organism
        # each (some none), built as NCBI's databases are (-parse_seqids -taxid_map).
        taxa = [rng.choice(DATABASE_TAXA) for _ in records]
        copy = f"{name}_taxa"
        renamed = [(f"t{i:04d} {title}", seq) for i, (title, seq) in enumerate(records)]
        (work / f"{copy}.fa").write_text(fasta(renamed))
        (work / f"{copy}.map").write_text(
            "".join(f"t{i:04d}\t{t}\n" for i, t in enumerate(taxa) if t)
        )
        makeblastdb(
            f"{copy}.fa", copy, molecules[name], "-parse_seqids", "-taxid_map", f"{copy}.map"
        )
        database_taxids[copy] = {t for t in taxa if t}
    settings = make_settings(work / "data", demo_databases=False)
    with TestClient(create_app(settings)) as client:
        for name, prefix in prefixes.items():
            added = client.post("/api/databases", json={"name": name, "path": str(prefix)})
            assert added.status_code in (200, 201), added.text
        split = add_split_cluster(client, "split", batch_letters=1000)
        yield {"client": client, "work": work, "prefixes": prefixes, "sequences": sequences,
               "clusters": ("local", split), "database_taxids": database_taxids}  # fmt: skip


def mutated(rng: random.Random, sequence: str, alphabet: str, rate: float) -> str:
    return "".join(rng.choice(alphabet) if rng.random() < rate else c for c in sequence)


def random_query(rng: random.Random, kind: str, sequences: dict, name: str) -> tuple[str, str]:
    """A stretch of a subject with point mutations, now and then a sequence found nowhere."""
    if kind == "gene":
        pool, alphabet, shortest = sequences["genes"], "ACGT", 60
    else:
        pool, alphabet, shortest = sequences["proteins"], "ACDEFGHIKLMNPQRSTVWY", 30
    if rng.random() < 0.1:  # no hit, or only chance ones
        length = rng.randint(shortest, 4 * shortest)
        query = "".join(rng.choice(alphabet) for _ in range(length))
    else:
        source = rng.choice(pool)[1]
        length = rng.randint(shortest, min(len(source), 12 * shortest))
        start = rng.randint(0, len(source) - length)
        query = mutated(rng, source[start : start + length], alphabet, rng.choice([0, 0.02, 0.1]))
    if kind == "coding":
        query = back_translate(query, rng, rng.random() < 0.5)
    return name, query


def random_value(rng: random.Random, spec: OptionSpec, program: Program, queries: list) -> Any:
    if spec.kind is OptionKind.FLAG:
        return True
    if spec.kind is OptionKind.BOOL:
        return rng.random() < 0.5
    if spec.kind is OptionKind.CHOICE:
        return rng.choice(spec.choices_for(program))
    if spec.kind is OptionKind.RANGE:  # a START past a query's end is refused (test_query_loc)
        lengths = [len(s) for _, s in queries]
        start = rng.randint(1, min(lengths) - 1)
        return f"{start}-{rng.randint(start + 1, max(lengths) + 10)}"  # BLAST cuts the STOP
    picks: dict[str, list[Any]] = {
        "evalue": [1000, 10, 1, 1e-3, 1e-10, 1e-30, 0.5],
        "max_target_seqs": [1, 2, 5, 10, 25, 500],
        "max_hsps": [1, 2, 3],
        "perc_identity": [50, 80, 90, 95.5, 99, 100],
        "qcov_hsp_perc": [0, 10, 50, 75.5, 90, 100],
        "word_size": [4, 7, 11, 12, 16, 20, 28, 32, 64] if program is Program.BLASTN
                     else [2, 3, 4, 5, 6, 7],
        "gapopen": list(range(0, 16)),
        "gapextend": [0, 1, 2, 3],
        "reward": [1, 2, 3, 4, 5],
        "penalty": [-1, -2, -3, -4, -5],
        "threshold": [5, 11, 13, 20, 30],
        "comp_based_stats": [0, 1, 2, 3],
        "query_gencode": [1, 2, 4, 5, 11, 12],
        "db_gencode": [1, 2, 4, 5, 11, 12],
        "culling_limit": [0, 1, 2, 5],
        "window_size": [0, 10, 40],
        "xdrop_gap_final": [0, 10, 25, 100],
    }  # fmt: skip
    if spec.name == "word_size" and program is not Program.BLASTN and len(queries) > 6:
        # A protein lookup table grows as 20^word_size: tblastx with word_size 5 on 64 queries
        # took over 5 minutes and 6 GB, twice at once (BLAST's run and the job's). Small cases
        # keep every size.
        picks["word_size"] = [3, 4]
    values = [v for v in picks[spec.name] if spec.bounds_for(program).contains(v)]
    return rng.choice(values or picks[spec.name])


def random_case(rng: random.Random, number: int, env: dict[str, Any]) -> Case:
    program = rng.choice(list(SEARCHES))
    kind = SEARCHES[program][1]
    # Now and then more queries than one BLAST query batch holds (blastn aside: 1,000,000
    # letters), so that a job is several of BLAST's own batches.
    count = rng.randint(40, 90) if program is not Program.BLASTN and rng.random() < 0.1 else None
    queries = [random_query(rng, kind, env["sequences"], f"q{i}")
               for i in range(count or rng.randint(1, 6))]  # fmt: skip
    specs = rng.sample(allowed_options(program), rng.randint(0, 4))
    options = {spec.name: random_value(rng, spec, program, queries) for spec in specs}
    taxa = random_taxa(rng) if rng.random() < 0.35 else {}
    beside = "" if taxa or rng.random() < 0.85 else rng.choice(["again", "again", "taxa"])
    draw = rng.random()  # one draw, as when only XML was compared: a seed's cases stay its own
    formatted = "xml" if draw < 0.12 else "json" if draw < 0.2 else "xml2" if draw < 0.25 else ""
    cluster = rng.choice(env["clusters"])
    return Case(number, program, cluster, queries, options, taxa, beside, formatted)


def random_taxa(rng: random.Random) -> dict[str, Any]:
    """`taxids`, `negative_taxids` or both, each one or two taxa: a list, or one string of
    them joined by commas."""
    lists = rng.choice(
        [("taxids",), ("taxids",), ("negative_taxids",), ("taxids", "negative_taxids")]
    )
    taxa: dict[str, Any] = {}
    for name in lists:
        picked = [text for text, _ in rng.sample(FILTER_TAXA, rng.randint(1, 2))]
        taxa[name] = picked if rng.random() < 0.5 else ", ".join(picked)
    return taxa


# -- the oracle's taxid list, from taxoniq's lineages --------------------------------------------


def filter_taxids(value: Any) -> set[int]:
    texts = value if isinstance(value, list) else value.split(",")
    by_text = dict(FILTER_TAXA)
    return {by_text[text.strip()] for text in texts}


def expected_filter(case: Case, env: dict[str, Any]) -> tuple[str, set[int]] | str | None:
    """What BLAST is given for the case's filter: (its option, the database taxids listed), the
    error code a filter must be refused with, or None (no list: nothing of it to drop)."""
    included = filter_taxids(case.taxa.get("taxids", []))
    excluded = filter_taxids(case.taxa.get("negative_taxids", []))
    if included & excluded:
        return "taxon_filter_conflict"
    present = env["database_taxids"][case.database]

    def under(taxid: int, taxa: set[int]) -> bool:
        return bool(taxa & {taxid, *(t.tax_id for t in taxoniq.Taxon(taxid).lineage)})

    if included:
        kept = {t for t in present if under(t, included) and not under(t, excluded)}
        return ("-taxidlist", kept) if kept else "taxon_filter_empty"
    dropped = {t for t in present if under(t, excluded)}
    return ("-negative_taxidlist", dropped) if dropped else None


# -- BLAST's own run of a case ------------------------------------------------------------------


def blast_arguments(options: dict[str, Any]) -> list[str]:
    """The options as a user types them for BLAST: `-name value`, a flag alone."""
    argv: list[str] = []
    for name, value in options.items():
        if ALLOWED_OPTIONS[name].kind is OptionKind.FLAG:
            argv.append(f"-{name}")
        elif isinstance(value, bool):
            argv += [f"-{name}", "true" if value else "false"]
        else:
            argv += [f"-{name}", str(value)]
    return argv


def raw_blast(
    case: Case, env: dict[str, Any], listed: tuple[str, set[int]] | None, outfmt: str = "6"
) -> subprocess.CompletedProcess[str]:
    """BLAST's run of the case, in the databases' directory with their bare names (as the
    job's reports name them: `<BlastOutput_db>genes</BlastOutput_db>`)."""
    query = env["work"] / f"case-{case.number}.fa"
    query.write_text(fasta(case.queries))
    databases = " ".join(case.databases)
    argv = [case.program.value, "-query", str(query), "-db", databases, "-outfmt", outfmt]
    argv += blast_arguments(case.options)
    if listed is not None:
        option, taxids = listed
        path = env["work"] / f"case-{case.number}.taxids"
        path.write_text("".join(f"{t}\n" for t in sorted(taxids)))
        argv += [option, str(path)]
    return subprocess.run(
        argv, capture_output=True, text=True, cwd=env["work"], env=BLAST_ENV, timeout=RAW_TIMEOUT_S
    )


def first_difference(ours: str, theirs: str, what: str) -> str:
    mine, blast = ours.splitlines(), theirs.splitlines()
    at = next(
        (i for i, (a, b) in enumerate(zip(mine, blast, strict=False)) if a != b),
        min(len(mine), len(blast)),
    )
    return (
        f"{len(mine)} {what} lines against BLAST's {len(blast)}; first difference at line "
        f"{at}: ours {mine[at : at + 1]}, BLAST's {blast[at : at + 1]}"
    )


# -- one case -----------------------------------------------------------------------------------


def check(case: Case, env: dict[str, Any], findings: Findings) -> None:
    client: TestClient = env["client"]
    body = {
        "program": case.program.value,
        "databases": case.databases,
        "query": fasta(case.queries),
        "options": {**case.options, **case.taxa},
        "cluster": case.cluster,
    }
    response = client.post("/api/jobs", json=body)
    expected = expected_filter(case, env) if case.taxa else None
    refused_filter = expected if isinstance(expected, str) else None
    try:
        listed = None if refused_filter else expected
        raw = raw_blast(case, env, listed)  # type: ignore[arg-type]
    except subprocess.TimeoutExpired:  # no verdict: BLAST itself takes too long for a test
        findings.outcomes["BLAST+ too slow for the test"] += 1
        if response.status_code == 202:
            client.post(f"/api/jobs/{response.json()['id']}/cancel")
        return
    blast_error = raw.stderr.strip().splitlines()[-1:] if raw.returncode else None
    if case.taxa:
        findings.outcomes["within organisms"] += 1
    if response.status_code == 422 and response.json()["error_code"] in TAXON_ERRORS:
        refusal = response.json()
        findings.outcomes[f"refused: {refusal['error_code']}"] += 1
        if refusal["error_code"] != refused_filter or not refusal.get("message"):
            findings.failures.append(f"{case.describe()}: expected {expected}, got {refusal}")
        return
    if response.status_code == 422 and response.json()["error_code"] == TOGETHER_ERROR:
        findings.outcomes[f"refused: {TOGETHER_ERROR}"] += 1
        # BLAST+ runs such a search only while it finds no subject in the -parse_seqids copy
        # (ids t0000...): refused as a search that can never give one (database_list.py)
        subjects = {row.split("\t")[1] for row in raw.stdout.splitlines()}
        if blast_error is None and any(PARSED_ID.fullmatch(s) for s in subjects):
            findings.failures.append(f"{case.describe()}: refused, but BLAST+ runs it")
        elif blast_error is None:
            findings.refused_blast_runs.append(f"{case.describe()}: no hit in the copy")
        return
    if refused_filter is not None and response.status_code != 422:
        findings.failures.append(
            f"{case.describe()}: expected {refused_filter}, got {response.status_code}"
        )
        return
    if response.status_code == 422:
        refusal = response.json()
        findings.outcomes[f"refused: {refusal['error_code']}"] += 1
        if refusal["error_code"] not in OPTION_ERRORS or not refusal.get("message"):
            findings.failures.append(f"{case.describe()}: refused with {refusal}")
        elif not str(refusal.get("field") or "").startswith("options"):
            findings.failures.append(f"{case.describe()}: a refusal names no option: {refusal}")
        elif blast_error is None:
            findings.refused_blast_runs.append(f"{case.describe()}: {refusal['message']}")
        return
    if response.status_code != 202:
        findings.failures.append(f"{case.describe()}: {response.status_code} {response.text}")
        return
    job = wait_for_job(api_job(client), response.json()["id"], timeout=300)
    if blast_error is not None:
        findings.outcomes["accepted what BLAST refuses"] += 1
        findings.failures.append(
            f"{case.describe()}: accepted, but BLAST+ refuses it ({blast_error}); "
            f"the job {job['phase']} ({job['error_code']}: {job['error']})"
        )
        return
    if job["phase"] != "completed":
        findings.failures.append(f"{case.describe()}: job {job['phase']}: {job['error']}")
        return
    download = client.get(f"/api/jobs/{job['id']}/download", params={"format": "tsv"})
    rows = download.text.split("\n", 1)[1] if download.status_code == 200 else download.text
    findings.outcomes["completed"] += 1
    findings.outcomes["completed with hits" if raw.stdout else "completed, no hit"] += 1
    if rows != raw.stdout:
        findings.failures.append(f"{case.describe()}: {first_difference(rows, raw.stdout, 'TSV')}")
    if case.formatted:
        fmt = case.formatted
        download = client.get(f"/api/jobs/{job['id']}/download", params={"format": fmt})
        findings.outcomes[f"{fmt} compared"] += 1
        ours, blast = (
            per_query_blind(fmt, text)
            for text in (download.text, formatted_by_blast(case, env, listed))
        )
        if query_loc := case.options.get("query_loc"):
            blast = stretch_lengths(blast, query_loc)
        if job["progress"]["batches_total"] > 1:  # README: a batch's masks are its own
            ours = masks_blind(ours, blast)
        if download.status_code != 200 or ours != blast:
            difference = first_difference(ours, blast, f"{fmt} ({download.status_code})")
            findings.failures.append(f"{case.describe()}: {difference}")


# The downloads compared with blast_formatter's output: each one's -outfmt, what in it are the
# per-query search statistics, and its list of a query's masked stretches (`per_query_blind`).
FORMATTED = {
    "xml": (
        "5",
        re.compile(r"(<Statistics_(?:hsp-len|eff-space|kappa|lambda|entropy)>)[^<]*"),
        None,
    ),
    "json": (
        "15",
        re.compile(r'^(\s*"(?:hsp_len|eff_space|kappa|lambda|entropy)": )[^,\n]*', re.M),
        re.compile(r'^( *)"query_masking": \[(?:\]|\n.*?^\1\]),?\n', re.M | re.S),
    ),
    "xml2": (
        "16",
        re.compile(r"(<(?:hsp-len|eff-space|kappa|lambda|entropy)>)[^<]*"),
        re.compile(r"^ *<query-masking>.*?</query-masking>\n", re.M | re.S),  # or empty
    ),
}


def formatted_by_blast(case: Case, env: dict[str, Any], listed: tuple[str, set[int]] | None) -> str:
    """The case's download format as BLAST+ formats a search it archived (`-outfmt 11`, then
    `blast_formatter -outfmt 5`, 15 or 16), which is how a job's is made. (The search's own
    `-outfmt 5` differs from its formatter's, README "What identical to BLAST+ means".)"""
    archive = env["work"] / f"case-{case.number}.asn"
    archived = raw_blast(case, env, listed, "11")
    archive.write_text(archived.stdout)
    outfmt = FORMATTED[case.formatted][0]
    argv = ["blast_formatter", "-archive", str(archive), "-outfmt", outfmt]
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=env["work"], env=BLAST_ENV, timeout=RAW_TIMEOUT_S
    )
    return done.stdout


# A query's length in XML, JSON and XML2, as BLAST writes one element per line.
QUERY_LENGTH = re.compile(
    r'^(\s*(?:<BlastOutput_query-len>|<Iteration_query-len>|<query-len>|"query_len": ))(\d+)', re.M
)


def stretch_lengths(text: str, query_loc: str) -> str:
    """blast_formatter's report with each query's length the stretch `-query_loc` searched, as
    the search's own output gives it (and the job's download: README, "What identical to BLAST+
    means"); blast_formatter gives the whole query's."""
    start, stop = (int(n) for n in query_loc.split("-"))

    def stretch(m: re.Match[str]) -> str:
        return f"{m.group(1)}{min(int(m.group(2)), stop) - start + 1}"

    return QUERY_LENGTH.sub(stretch, text)


def per_query_blind(fmt: str, text: str) -> str:
    """`text` (a download in `fmt`) without its per-query search statistics. An archive keeps
    one set of search statistics (and Karlin-Altschul parameters), its first query's, which
    blast_formatter reports for every query: a job split into batches reports each batch's
    first query's (kappa seen to differ in its 15th digit).

    Nor its lists of masked stretches (JSON's and XML2's): blast_formatter (2.12) gives an
    archive's masks to its queries in turn, skipping none, so a query without any takes the
    next one's (found here, and checked by hand: two queries, the second with a SEG-masked
    stretch, the archive naming it Query_2; blast_formatter put it in Query_1's report, the
    search's own -outfmt 15 in Query_2's). A job formats each batch's archive, so where a
    query's masks land follows its batch (README, "What identical to BLAST+ means")."""
    _, statistics, masks = FORMATTED[fmt]
    text = statistics.sub(r"\1N", text)
    return masks.sub("", text) if masks is not None else text


# Where an alignment's query letters and midline start, in XML, XML2 and JSON.
_QUERY_LETTERS = ("<Hsp_qseq>", "<qseq>", '"qseq": "')
_MIDLINE = ("<Hsp_midline>", "<midline>", '"midline": "')


def _masked(ours: str, blast: str) -> bool:
    """Two query letters that differ only in how they show masking."""
    return "X" in (ours, blast) or ours.upper() == blast.upper()


def masks_blind(ours: str, blast: str) -> str:
    """`ours` with BLAST's query letters and midline wherever the two differ only by
    masked letters (X in either's query, or in JSON a letter in lower case) of an otherwise
    equal alignment: which query letters blast_formatter shows masked follows the batch the
    query was searched in, and the masks it gives the query (`per_query_blind`)."""
    mine, theirs = ours.split("\n"), blast.split("\n")
    if len(mine) != len(theirs):
        return ours
    masked: set[int] = set()  # positions in the last query line where a masked letter differs
    for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        start = a.lstrip()
        tag = next((t for t in (*_QUERY_LETTERS, *_MIDLINE) if start.startswith(t)), None)
        if a == b or len(a) != len(b) or tag is None:
            continue
        body = a.index(tag) + len(tag)
        differ = {k for k in range(body, len(a)) if a[k] != b[k]}
        if tag in _QUERY_LETTERS and all(_masked(a[k], b[k]) for k in differ):
            masked, mine[i] = {k - body for k in differ}, b
        elif tag in _MIDLINE and {k - body for k in differ} <= masked:
            mine[i] = b
    return "\n".join(mine)


@pytest.mark.parametrize(
    ("program", "options", "seed"),
    [
        (Program.TBLASTX, {}, 101),
        (Program.TBLASTX, {"evalue": 1e-5}, 106),
        (Program.BLASTX, {"ungapped": True, "comp_based_stats": 0}, 115),
    ],
)
def test_an_odd_query_moves_the_e_values_of_its_batch_as_in_blast(
    env: dict[str, Any], program: Program, options: dict[str, Any], seed: int
) -> None:
    """BLAST+ computes these searches' E-values from every query of its query batch (sum
    statistics over an ungapped search: `search_split.batch_bound_reason`): a job split
    one process per slot printed other E-values than BLAST for the queries beside a random
    one. On both clusters the job's rows are BLAST's. (The seeds are ones whose queries the
    split per slot and by batch_letters gave other E-values than one BLAST run.)"""
    rng = random.Random(seed)
    queries = [("odd", "".join(rng.choice("ACGT") for _ in range(60)))]
    queries += [random_query(rng, "coding", env["sequences"], f"q{i}") for i in range(5)]
    findings = Findings()
    for number, cluster in enumerate(env["clusters"]):
        check(Case(1000 + number, program, cluster, queries, options), env, findings)
    assert not findings.failures, "\n".join(findings.failures)
    assert findings.outcomes["completed with hits"] == 2, findings.outcomes


@pytest.mark.timeout(max(300, 3 * CASES))  # bench/random_options.py runs hundreds
def test_random_searches_give_what_blast_itself_gives(env: dict[str, Any]) -> None:
    rng = random.Random(SEED)
    findings = Findings()
    for number in range(CASES):
        check(random_case(rng, number, env), env, findings)
    summary = {
        "seed": SEED,
        "cases": CASES,
        "outcomes": dict(findings.outcomes),
        "failures": findings.failures,
        "refused_blast_runs": findings.refused_blast_runs,
    }
    if REPORT:
        Path(REPORT).write_text(json.dumps(summary, indent=1) + "\n")
    assert not findings.failures, "\n".join(findings.failures)
    # The cases reached BLAST: a generator that only made refusals would test nothing.
    assert findings.outcomes["completed"] >= CASES // 3, summary


# Cases the random searches once failed (seed, case number), replayed on every run: the data is
# built the same every run and a case is drawn from its seed, so each is the search that failed.
FOUND = [
    # tblastx with query_loc on the split cluster: BLAST's query batches count a query's
    # whole length, not the searched stretch (engines/batch_plan.py job_split)
    (909959049, 405),
    # qcov_hsp_perc: BLAST+'s threads keep HSPs its one-thread run does not (ONE_THREAD_OPTIONS)
    (955803434, 444),
    # ungapped blastn on the split cluster: its E-values are its BLAST batch's
    # (search_split.batch_bound_reason)
    (656183142, 397),
    # blastn -word_size 11 on the split cluster: a seed at a query's start was extended, or
    # not, as the query before it in the process read (search_split.batch_bound_reason)
    (906686605, 27),
]


@pytest.mark.parametrize(("seed", "number"), FOUND)
def test_the_cases_the_random_searches_found_stay_fixed(
    env: dict[str, Any], seed: int, number: int
) -> None:
    rng = random.Random(seed)
    for drawn in range(number + 1):
        case = random_case(rng, drawn, env)
    findings = Findings()
    check(case, env, findings)
    assert findings.outcomes["completed"] == 1, dict(findings.outcomes)
    assert not findings.failures, "\n".join(findings.failures)
