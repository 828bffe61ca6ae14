"""BLAST programs and the options a job of each may set (GET /api/programs, /api/options)."""

from __future__ import annotations

from pydantic import BaseModel

from blastdeck.domain.options import OptionKind
from blastdeck.domain.programs import Molecule, Program


class ProgramInfo(BaseModel):
    name: Program
    query_molecule: Molecule
    database_molecule: Molecule
    tasks: list[str]
    default_task: str | None


class ProgramList(BaseModel):
    items: list[ProgramInfo]


class OptionSpec(BaseModel):
    name: str
    kind: OptionKind
    summary: str
    default: str
    accepts: str
    minimum: int | float | None
    maximum: int | float | None
    exclusive_minimum: bool
    choices: list[str | int] | None
    blast_argument: str


class ProgramOptions(BaseModel):
    program: str
    options: list[OptionSpec]
