"""/api/programs and /api/options: the BLAST programs, and the options a job may set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.schemas.programs import OptionSpec, ProgramInfo, ProgramList, ProgramOptions
from blastdeck.domain.option_table import describe_options
from blastdeck.domain.programs import PROGRAM_SHAPES, parse_program

router = APIRouter(prefix="/api", tags=["programs"], responses=ERROR_RESPONSES)


@router.get("/programs")
def programs() -> ProgramList:
    """Each BLAST program with the molecule its query and its database must be, and its tasks."""
    return ProgramList(
        items=[
            ProgramInfo(
                name=program,
                query_molecule=shape.query,
                database_molecule=shape.database,
                tasks=list(shape.tasks),
                default_task=shape.default_task,
            )
            for program, shape in PROGRAM_SHAPES.items()
        ]
    )


@router.get("/options")
def options(program: Annotated[str, Query(examples=["blastn"])] = "blastn") -> ProgramOptions:
    """The BLAST options a job of this program may set, with their ranges or choices."""
    specs = describe_options(parse_program(program))
    return ProgramOptions(program=program, options=[OptionSpec(**spec) for spec in specs])
