"""Write the API's OpenAPI document as JSON: `python -m blastdeck.api.export_openapi [PATH]`.

The web page's TypeScript types are generated from the committed copy
(web/src/api/openapi.json -> schema.ts, `make api-types`); tests/test_openapi_types.py fails
when either drifts from the code.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("web/src/api/openapi.json")


def openapi_document() -> dict[str, Any]:
    """The document `blastdeck serve` answers at /openapi.json (it does not depend on the
    settings; a throwaway data dir keeps this from touching a real one)."""
    from blastdeck.api.app import create_app
    from blastdeck.config import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        return create_app(Settings(data_dir=Path(data_dir))).openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render(openapi_document()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
