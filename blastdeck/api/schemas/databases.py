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
    molecule: Literal["nucl", "prot"] | None = Field(
        default=None, description="checked against the database when given"
    )


class DatabaseUpdate(BaseModel):
    """Who may search a database (its owner or an admin): the same rules as at upload."""

    visibility: Visibility
    group: str | None = Field(default=None, description="for visibility 'group'")


class StagedCopy(BaseModel):
    """A copy of the database on a cluster's scratch (where a job finds it warm)."""

    cluster: str
    location: str
    current: bool = Field(
        description="made from the database's files as they are now; false: they changed "
        "since, and the next job there stages it again"
    )


class Organism(BaseModel):
    taxid: int
    name: str | None = Field(description="scientific name; null for a taxid the taxonomy lacks")
    sequences: int = Field(description="the database's sequences of this taxid")


class DatabaseTaxonomy(BaseModel):
    """How much of the database has taxids: what a taxon filter can search within."""

    taxid_sequences: int = Field(description="sequences with a taxid")
    distinct_taxids: int
    top_organisms: list[Organism] = Field(description="the organisms with most sequences")


class Database(BaseModel):
    name: str = Field(description="qualified: `name`, `<owner>/name` or `@<group>/name`")
    scope: str = Field(description="public, the owner's name, or @group")
    available: bool = Field(description="its files are there and can be searched")
    unavailable_reason: str | None
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
    taxonomy: DatabaseTaxonomy | None = Field(
        default=None,
        description="its taxonomy coverage; null when its taxids were never read (added "
        "before BlastDeck read them: register it again)",
    )
    size_bytes: int | None = Field(
        default=None, description="the size of its files on disk; null when they are missing"
    )
    staged: list[StagedCopy] = Field(
        default_factory=list, description="the clusters holding a staged copy of it"
    )


class DatabaseList(BaseModel):
    items: list[Database]


class DatabaseRemoved(BaseModel):
    """What deleting a database removed."""

    name: str
    files_removed: bool = Field(
        description="its built files were deleted (false: a registered database, whose files "
        "are left where they are)"
    )
    staged_removed: list[str] = Field(description="staged copies deleted on the clusters")


class UploadProgress(BaseModel):
    """How far the build of an uploaded FASTA has got (build_progress.py), for this API
    process's own uploads only."""

    upload_id: str
    phase: Literal["receiving", "checking", "building", "done", "failed"] = Field(
        description="receiving the bytes, checking the FASTA, building (makeblastdb), done or "
        "failed"
    )
    percent: int | None = Field(
        description="of the current phase; null when not known (receiving; inflating a "
        "gzipped upload). While building it is an estimate and stops at 99 until done"
    )
    total_bytes: int | None = Field(description="the plain FASTA's size, once known")
    checked_bytes: int = Field(description="bytes of the plain FASTA checked so far")
    sequences: int = Field(description="sequences checked so far")
    letters: int = Field(description="letters checked so far")
    output_bytes: int = Field(description="bytes makeblastdb has written so far")
    output_estimate: int | None = Field(
        description="an estimate of the bytes makeblastdb will write, from the letters, "
        "sequences and headers checked"
    )
    database: str | None = Field(description="the database's name, once done")
    error_code: str | None = Field(description="why it failed (the upload's own answer)")
    message: str | None
