"""Write the domain tables the web page mirrors as a TypeScript module:
`python -m blastdeck.api.export_domain [PATH]` (default web/src/api/domain.generated.ts).

The pipeline's steps, their labels and order, the phases and which poll fast, steadily or not
at all, the job statuses, and the BLAST program table, from blastdeck/domain. The page imports
them instead of copying them; tests/test_openapi_types.py fails when the file drifts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

from blastdeck.domain.pipeline_model import (
    FAST_POLL_INTERVAL_MS,
    FAST_POLL_PHASES,
    STEADY_POLL_INTERVAL_MS,
    STEADY_POLL_PHASES,
    STEP_LABELS,
    STEPS,
    SUBMIT_WAIT_PHASES,
    TERMINAL_PHASES,
    JobStatus,
    Phase,
    StepStatus,
    status_of,
)
from blastdeck.domain.programs import PROGRAM_SHAPES, Program

DEFAULT_PATH = Path("web/src/api/domain.generated.ts")
_HEADER = """\
// Generated from blastdeck/domain (pipeline_model.py, programs.py) by
// `python -m blastdeck.api.export_domain`; `make api-types` rewrites it. Do not edit.
import type { components } from './schema';

type Schemas = components['schemas'];
"""


def _list(values: Iterable[object]) -> str:
    return json.dumps([str(v) for v in values])


def _record(entries: Iterable[tuple[str, str]]) -> str:
    return "{\n" + "".join(f"  {key}: {value},\n" for key, value in entries) + "}"


def _const(doc: str, name: str, type_: str, value: str) -> str:
    comment = f"/** {doc} */\n" if doc else ""
    return f"{comment}export const {name}: {type_} = {value};\n"


def _phases(phases: frozenset[Phase]) -> str:
    return _list(p for p in Phase if p in phases)  # in pipeline order, not set order


def _program(program: Program) -> str:
    shape = PROGRAM_SHAPES[program]
    return (
        f"{{ name: {json.dumps(program.value)}, query_molecule: {json.dumps(shape.query.value)}, "
        f"database_molecule: {json.dumps(shape.database.value)}, tasks: {_list(shape.tasks)}, "
        f"default_task: {json.dumps(shape.default_task)} }}"
    )


def render() -> str:
    phases = "readonly Schemas['Phase'][]"
    sections = [
        _HEADER,
        _const(
            "The pipeline's steps, in order.", "STEPS", "readonly Schemas['Step'][]", _list(STEPS)
        ),
        _const(
            "What the page shows for each step.",
            "STEP_LABELS",
            "Readonly<Record<Schemas['Step'], string>>",
            _record((s.value, json.dumps(STEP_LABELS[s])) for s in STEPS),
        ),
        _const("", "STEP_STATUSES", "readonly Schemas['StepStatus'][]", _list(StepStatus)),
        _const("", "PHASES", phases, _list(Phase)),
        _const("", "JOB_STATUSES", "readonly Schemas['JobStatus'][]", _list(JobStatus)),
        _const(
            "The coarse status of each phase (what the jobs list filters on).",
            "STATUS_OF_PHASE",
            "Readonly<Record<Schemas['Phase'], Schemas['JobStatus']>>",
            _record((p.value, json.dumps(status_of(p).value)) for p in Phase),
        ),
        _const(
            "Phases that usually last a second or two: poll fast so each step is seen.",
            "FAST_POLL_PHASES",
            phases,
            _phases(FAST_POLL_PHASES),
        ),
        _const(
            "Phases that can last minutes: poll steadily.",
            "STEADY_POLL_PHASES",
            phases,
            _phases(STEADY_POLL_PHASES),
        ),
        _const(
            "Nothing changes after these: stop polling.",
            "TERMINAL_PHASES",
            phases,
            _phases(TERMINAL_PHASES),
        ),
        _const(
            "Waiting before the submit slot is taken (for the slot, or for a paused cluster).",
            "SUBMIT_WAIT_PHASES",
            phases,
            _phases(SUBMIT_WAIT_PHASES),
        ),
        _const("", "FAST_POLL_INTERVAL_MS", "number", str(FAST_POLL_INTERVAL_MS))
        + _const("", "STEADY_POLL_INTERVAL_MS", "number", str(STEADY_POLL_INTERVAL_MS)),
        _const(
            "Each BLAST program: the molecules of its query and database, and its tasks.",
            "PROGRAMS",
            "readonly Schemas['ProgramInfo'][]",
            "[\n" + "".join(f"  {_program(p)},\n" for p in Program) + "]",
        ),
    ]
    return "\n".join(sections)


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render())
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
