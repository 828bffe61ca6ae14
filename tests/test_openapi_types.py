"""The web page's generated API types and domain tables are the code's: the committed OpenAPI
document is what the app answers, schema.ts is what openapi-typescript makes of it, and
domain.generated.ts is what blastdeck/domain says. Any drift fails here; `make api-types`
regenerates all three."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from blastdeck.api import export_domain, export_openapi

WEB = Path(__file__).resolve().parents[1] / "web"
API_DIR = WEB / "src" / "api"
REGENERATE = "run `make api-types` and commit the result"


def test_committed_openapi_document_is_the_apps() -> None:
    committed = json.loads((API_DIR / "openapi.json").read_text())
    assert committed == export_openapi.openapi_document(), (
        f"web/src/api/openapi.json differs from the app's /openapi.json: {REGENERATE}"
    )


def test_committed_typescript_types_are_generated_from_it(tmp_path: Path) -> None:
    tool = WEB / "node_modules" / ".bin" / "openapi-typescript"
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make web` (npm ci) first")
    out = tmp_path / "schema.ts"
    # The same command as `npm run api-types`, into a temporary file.
    script = json.loads((WEB / "package.json").read_text())["scripts"]["api-types"]
    command = script.replace("src/api/schema.ts", str(out)).split()
    subprocess.run(command, cwd=WEB, check=True, capture_output=True, env=_node_env(tool))
    assert out.read_text() == (API_DIR / "schema.ts").read_text(), (
        f"web/src/api/schema.ts is not what openapi-typescript makes of openapi.json: {REGENERATE}"
    )


def test_committed_domain_tables_are_the_domains() -> None:
    assert (API_DIR / "domain.generated.ts").read_text() == export_domain.render(), (
        f"web/src/api/domain.generated.ts differs from blastdeck/domain: {REGENERATE}"
    )


def test_links_name_real_operations() -> None:
    """Every OpenAPI link opens an operation of the document, with parameters it has."""
    document = export_openapi.openapi_document()
    operations = {
        op["operationId"]: op for ops in document["paths"].values() for op in ops.values()
    }
    links = [
        link
        for ops in document["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 40
    for link in links:
        target = operations[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", [])}
        assert set(link.get("parameters", {})) <= names, link


def _node_env(tool: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
