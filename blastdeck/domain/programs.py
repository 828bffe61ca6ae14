"""BLAST+ programs and which molecule each expects for its query and its database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blastdeck.domain.errors import BlastDeckError, ErrorCode


class Molecule(StrEnum):
    NUCLEOTIDE = "nucl"
    PROTEIN = "prot"


class Program(StrEnum):
    BLASTN = "blastn"
    BLASTP = "blastp"
    BLASTX = "blastx"
    TBLASTN = "tblastn"
    TBLASTX = "tblastx"


@dataclass(frozen=True)
class ProgramShape:
    query: Molecule
    database: Molecule
    tasks: tuple[str, ...]
    default_task: str | None


_N, _P = Molecule.NUCLEOTIDE, Molecule.PROTEIN

PROGRAM_SHAPES: dict[Program, ProgramShape] = {
    Program.BLASTN: ProgramShape(
        _N, _N, ("megablast", "dc-megablast", "blastn", "blastn-short"), "megablast"
    ),
    Program.BLASTP: ProgramShape(_P, _P, ("blastp", "blastp-fast", "blastp-short"), "blastp"),
    Program.BLASTX: ProgramShape(_N, _P, ("blastx", "blastx-fast"), "blastx"),
    Program.TBLASTN: ProgramShape(_P, _N, ("tblastn", "tblastn-fast"), "tblastn"),
    Program.TBLASTX: ProgramShape(_N, _N, (), None),
}


def parse_program(value: str) -> Program:
    try:
        return Program(value.strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Program)
        raise BlastDeckError(
            ErrorCode.UNKNOWN_PROGRAM,
            f"Unknown BLAST program {value[:40]!r}; use one of {known}.",
            field="program",
        ) from None


def shape_of(program: Program) -> ProgramShape:
    return PROGRAM_SHAPES[program]


def check_database_molecule(program: Program, database: str, molecule: Molecule) -> None:
    wanted = shape_of(program).database
    if molecule != wanted:
        raise BlastDeckError(
            ErrorCode.DATABASE_MOLECULE_MISMATCH,
            f"{program.value} searches a {molecule_word(wanted)} database, but {database!r} is "
            f"{molecule_word(molecule)}.",
            field="database",
        )


def molecule_word(molecule: Molecule) -> str:
    return "nucleotide" if molecule is Molecule.NUCLEOTIDE else "protein"
