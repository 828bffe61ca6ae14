"""The defaults /api/options/{program} shows are BLAST+'s own, program by program: read from
the BLAST+ binaries themselves (`-help`, a task's pairwise report, XML parameters and `-outfmt
11` archive), not from a copy of the manual. A blastp form was told "blastn: 11, megablast: 28",
and tblastn that SEG is off by default when it is on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from blastdeck.domain.option_table import describe_options
from blastdeck.domain.programs import Program

PROTEIN = (  # human insulin
    "MALWMRLLPLLALLALWGPDPAAAFVNQHLCGSHLVEALYLVCGERGFFYTPKTRREAEDLQVGQVELGGGPGAGSLQPLALEGSLQKRG"
    "IVEQCCTSICSLYQLENYCN"
)
# insulin's coding sequence (the start of it): a nucleotide query that translates
NUCLEOTIDE = (
    "ATGGCCCTGTGGATGCGCCTCCTGCCCCTGCTGGCGCTGCTGGCCCTCTGGGGACCTGACCCAGCCGCAGCCTTTGTGAACCAACAC"
    "CTGTGCGGCTCACACCTGGTGGAAGCTCTCTACCTAGTGTGCGGGGAACGAGGCTTCTTCTACACACCCAAGACC"
)
# program: (query and subject molecule)
INPUTS = {
    Program.BLASTN: (NUCLEOTIDE, NUCLEOTIDE),
    Program.BLASTP: (PROTEIN, PROTEIN),
    Program.BLASTX: (NUCLEOTIDE, PROTEIN),
    Program.TBLASTN: (PROTEIN, NUCLEOTIDE),
    Program.TBLASTX: (NUCLEOTIDE, NUCLEOTIDE),
}
TASKS = {
    Program.BLASTN: ["megablast", "blastn", "dc-megablast", "blastn-short"],
    Program.BLASTP: ["blastp", "blastp-fast", "blastp-short"],
    Program.BLASTX: ["blastx", "blastx-fast"],
    Program.TBLASTN: ["tblastn", "tblastn-fast"],
    Program.TBLASTX: [None],
}
PROTEIN_PROGRAMS = [Program.BLASTP, Program.BLASTX, Program.TBLASTN, Program.TBLASTX]


def shown(program: Program, name: str) -> str:
    return next(d for d in describe_options(program) if d["name"] == name)["default"]


def help_default(program: Program, option: str) -> str:
    text = subprocess.run(
        [program.value, "-help"], capture_output=True, text=True, check=True
    ).stdout
    block = re.search(rf"^ -{option} .*?\n(?:   .*\n)*", text, re.M)
    assert block, option
    found = re.search(r"Default = `([^']*)'", block.group(0))
    assert found, block.group(0)
    return found.group(1)


def search(program: Program, task: str | None, outfmt: str, tmp: Path) -> str:
    query, subject = INPUTS[program]
    (tmp / "q.fa").write_text(f">q\n{query}\n")
    (tmp / "s.fa").write_text(f">s\n{subject}\n")
    argv = [program.value, "-query", "q.fa", "-subject", "s.fa", "-outfmt", outfmt]
    if task:
        argv += ["-task", task]
    return subprocess.run(argv, cwd=tmp, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("program", PROTEIN_PROGRAMS)
def test_seg_is_shown_as_blast_sets_it(program: Program) -> None:
    blast = help_default(program, "seg")  # `no', or the window `12 2.2 2.5' (on)
    assert shown(program, "seg") == ("no" if blast == "no" else "yes")


@pytest.mark.parametrize("program", list(Program))
def test_soft_masking_is_shown_as_blast_sets_it(program: Program) -> None:
    assert shown(program, "soft_masking") == help_default(program, "soft_masking")


@pytest.mark.parametrize("program", [p for p in Program if p is not Program.TBLASTX])
def test_the_default_task_is_blasts(program: Program) -> None:
    assert shown(program, "task") == help_default(program, "task")


@pytest.mark.parametrize("program", PROTEIN_PROGRAMS)
def test_each_tasks_threshold_and_matrix_are_shown(program: Program, tmp_path: Path) -> None:
    threshold, matrix = shown(program, "threshold"), shown(program, "matrix")
    for task in TASKS[program]:
        report = search(program, task, "0", tmp_path)
        words = re.search(r"Neighboring words threshold: (\d+)", report).group(1)
        used = re.search(r"Matrix: (\S+)", report).group(1)
        if task in (None, program.value):  # the program's default task: the figure first
            assert threshold.startswith(f"{words} ") or threshold == words, (task, threshold)
            assert matrix.startswith(used), (task, matrix)
        else:
            assert f"{words} for {task}" in threshold, (task, words, threshold)
            if used != "BLOSUM62":
                assert f"{used} for {task}" in matrix, (task, used, matrix)


@pytest.mark.parametrize("program", list(Program))
def test_each_tasks_word_size_is_shown(program: Program, tmp_path: Path) -> None:
    described = shown(program, "word_size")
    for task in TASKS[program]:
        archive = search(program, task, "11", tmp_path)
        # A task's archive records the word size where it differs from the program's own
        # (3 for the proteins, 11 for blastn; megablast is blastn's default task, 28)
        recorded = re.search(r'name "WordSize",\s*value integer (\d+)', archive)
        if recorded:
            assert f"{recorded.group(1)} for {task}" in described, (task, described)
        elif program is Program.BLASTN:
            size = {"megablast": 28, "blastn": 11}[task]
            assert f"{size} for {task}" in described, (task, described)
        else:
            assert described.startswith("3"), (task, described)


# XML's Parameters_<name>: the scoring a search used
SCORING = {"reward": "sc-match", "penalty": "sc-mismatch", "gapopen": "gap-open",
           "gapextend": "gap-extend"}  # fmt: skip


@pytest.mark.parametrize("program", [p for p in Program if p is not Program.TBLASTX])
def test_each_tasks_scoring_is_shown(program: Program, tmp_path: Path) -> None:
    names = [n for n in SCORING if any(d["name"] == n for d in describe_options(program))]
    assert "gapopen" in names and "gapextend" in names
    for task in TASKS[program]:
        xml = search(program, task, "5", tmp_path)
        for name in names:
            used = re.search(rf"<Parameters_{SCORING[name]}>(-?\d+)<", xml).group(1)
            described = shown(program, name)
            if program is Program.BLASTN:
                assert f"{used} for {task}" in described, (name, task, described)
            elif task == program.value:
                assert described.split()[0] == used, (name, task, described)
            elif described.split()[0] != used:
                assert f"{used} for {task}" in described, (name, task, described)
