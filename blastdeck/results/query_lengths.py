"""A query's length in a formatted report, as BLAST+ itself writes it when `-query_loc` searched
a stretch of every query.

blastn (2.12) writes the searched stretch's length, min(length, STOP) - START + 1, as the
query's length in XML (`BlastOutput_query-len`, `Iteration_query-len`), XML2 (`query-len`) and
JSON (`query_len`); `blast_formatter` writes the whole query's length from the same archive.
Every other line of the two agrees (checked: the search statistics, the HSPs, the pairwise
text's `Length=`, which is the whole query's in both). A job's reports are formatted from its
archives, so these lines are set back to what the search wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from blastdeck.domain.option_table import query_range

# The opening of a query-length line in XML, XML2 and JSON (one element per line, as BLAST
# writes them); group 2 is the length.
_QUERY_LENGTH = re.compile(
    r'^(\s*(?:<BlastOutput_query-len>|<Iteration_query-len>|<query-len>|"query_len": ))(\d+)'
)


def searched_lengths(query_loc: str | None) -> Callable[[str], str] | None:
    """A line fixer giving each query-length line the stretch `query_loc` searched; None when
    the whole queries were searched (the formatter's lines are BLAST's then)."""
    if not query_loc:
        return None
    start, stop = query_range(query_loc)

    def fix(line: str) -> str:
        if (m := _QUERY_LENGTH.match(line)) is None:
            return line
        searched = min(int(m.group(2)), stop) - start + 1
        return f"{m.group(1)}{searched}{line[m.end() :]}"

    return fix
