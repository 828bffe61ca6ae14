"""BLAST databases: what can be searched (GET/POST /api/databases)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from blastdeck.domain.programs import Molecule

Visibility = Literal["public", "private", "group"]


class DatabaseRegister(BaseModel):
    """The JSON body that registers an existing BLAST+ database (admins)."""

    name: str
    path: str = Field(description="absolute path prefix of an existing BLAST+ database")
    visibility: Visibility = "public"
    group: str | None = Field(default=None, description="for visibility 'group'")


class Database(BaseModel):
    name: str
    title: str
    molecule: Molecule
    sequences: int
    letters: int
    path: str
    source: str = Field(description="registered, built or demo")
    owner_id: str | None
    visibility: Visibility
    group: str | None
    created_at: str | None


class DatabaseList(BaseModel):
    items: list[Database]
