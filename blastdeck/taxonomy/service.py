"""The taxonomy service: names, ranks, lineages, search, name resolution and the expansion of
a job's taxon filter into the taxid lists BLAST takes.

One `Taxonomy` per process (`shared.for_settings`), built from two things: where to cache
the derived index and, optionally, an operator's NCBI taxdump directory used instead of the
embedded NCBI Taxonomy. Construction is free; the index is opened (or, the first time for
that cache, built: ~15-60 s for the whole NCBI Taxonomy) on first use or by `ensure_ready()`.
Every method is safe to call from several threads.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.taxon_filter import (
    MAX_TAXID,
    TaxonFilter,
    TaxonRef,
    parse_taxon_ref,
)
from blastdeck.taxonomy import embedded, errors, taxdump
from blastdeck.taxonomy.index import TaxonomyIndex, open_or_build
from blastdeck.taxonomy.index_build import FORMAT
from blastdeck.taxonomy.lineage import lineage_table
from blastdeck.taxonomy.model import (
    CLASS_LABELS,
    COMMON_WORD,
    RANK_ALIASES,
    SCIENTIFIC,
    STANDARD_RANKS,
    BuildReport,
    LineageEntry,
    LineageTable,
    SearchMatch,
    TaxidLists,
    Taxon,
    TaxonName,
)
from blastdeck.taxonomy.names import key_of
from blastdeck.taxonomy.organisms import (
    OrganismTable,
    organism_table,
    preorder_positions,
    subtree_bounds,
)
from blastdeck.taxonomy.suggest import close_entries, ranked_prefix

_TAXID_TEXT = re.compile(r"(?:txid)?([0-9]{1,10})", re.IGNORECASE)
MAX_SEARCH_LIMIT = 100
log = logging.getLogger(__name__)


class Taxonomy:
    def __init__(self, cache_dir: Path, taxdump_dir: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.taxdump_dir = Path(taxdump_dir) if taxdump_dir else None
        self._index: TaxonomyIndex | None = None
        self._report: BuildReport | None = None
        self._lock = threading.Lock()
        self._builder: threading.Thread | None = None
        self._failure: tuple[str, BlastDeckError] | None = None

    # -- the index ---------------------------------------------------------------------------

    def ensure_ready(self) -> BuildReport:
        """Opens the index, building it first when this cache has none for this source."""
        self._open()
        assert self._report is not None
        return self._report

    def ready_or_building(self) -> bool:
        """True when the index is open or opens at once (it is cached). Otherwise starts
        building it on a background thread, once, and returns False: a web request should
        not wait a minute. A build that failed raises its error (until the source changes)."""
        if self._index is not None:
            return True
        fingerprint = self._fingerprint()
        if self._failure is not None and self._failure[0] == fingerprint:
            raise self._failure[1]
        if (self.cache_dir / f"v{FORMAT}-{fingerprint}" / "meta.json").is_file():
            self._open()
            return True
        with self._lock:
            if self._builder is None or not self._builder.is_alive():
                self._builder = threading.Thread(
                    target=self._build_in_background, daemon=True, name="taxonomy-index"
                )
                self._builder.start()
        return False

    def _build_in_background(self) -> None:
        try:
            self._open()
        except BlastDeckError as exc:
            self._failure = (self._fingerprint(), exc)
        except Exception as exc:  # reported to whoever asks next, as a server-side problem
            log.exception("building the taxonomy index failed")
            self._failure = (
                self._fingerprint(),
                errors.unavailable(f"Building the taxonomy index failed: {exc}"),
            )

    def _fingerprint(self) -> str:
        if self.taxdump_dir is None:
            return embedded.fingerprint()
        taxdump.check(self.taxdump_dir)
        return taxdump.fingerprint(self.taxdump_dir)

    def _open(self) -> TaxonomyIndex:
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None:
                directory = self.taxdump_dir
                fingerprint = self._fingerprint()
                if directory is not None:
                    self._index, self._report = open_or_build(
                        self.cache_dir, fingerprint, lambda: taxdump.load(directory)
                    )
                else:
                    self._index, self._report = open_or_build(
                        self.cache_dir, fingerprint, embedded.load
                    )
                self._failure = None
            return self._index

    @property
    def source(self) -> str:
        return str(self._open().meta["source"])

    # -- single taxa -------------------------------------------------------------------------

    def canonical(self, taxid: int) -> int | None:
        """The current taxid (merged ids resolve to the id they were merged into), or None."""
        if not 0 < taxid <= MAX_TAXID:
            return None
        return self._open().canonical(taxid)

    def _current(self, taxid: int, field: str | None = None) -> int:
        current = self.canonical(taxid)
        if current is None:
            raise errors.unknown_taxid(taxid, field)
        return current

    def get(self, taxid: int) -> Taxon:
        index = self._open()
        current = self._current(taxid)
        path: list[int] = []
        at = current
        while at > 0 and at != index.root:
            path.append(at)
            at = int(index.parent[at])
        path.reverse()
        full = tuple(LineageEntry(t, index.name(t), index.rank_of(t)) for t in path)
        standard: dict[str, TaxonName | None] = dict.fromkeys(STANDARD_RANKS)
        for entry in reversed(full):  # the nearest ancestor at a rank wins
            slot = RANK_ALIASES.get(entry.rank, entry.rank)
            if slot in standard and standard[slot] is None:
                standard[slot] = TaxonName(entry.taxid, entry.name)
        parent = int(index.parent[current])
        return Taxon(
            taxid=current,
            scientific_name=index.name(current),
            common_name=index.common_name(current),
            rank=index.rank_of(current),
            parent_taxid=parent or None,
            lineage=standard,
            full_lineage=full,
            child_count=len(self.children(current)),
            descendant_count=int(index.subtree[current]) - 1,
            merged_from=taxid if current != taxid else None,
        )

    def children(self, taxid: int) -> list[int]:
        """The taxa whose parent it is, by taxid. In pre-order the first child follows its
        parent and each next sibling follows the previous one's subtree."""
        index = self._open()
        current = self._current(taxid)
        found = []
        position = int(index.pre[current]) + 1
        end = int(index.pre[current]) + int(index.subtree[current])
        while position < end:
            child = int(index.order[position])
            found.append(child)
            position += int(index.subtree[child])
        return found

    def descendants(self, taxid: int) -> np.ndarray:
        """The taxon and every taxon under it (int64, the taxon first, then in pre-order)."""
        index = self._open()
        current = self._current(taxid)
        return np.asarray(index.order[index.subtree_slice(current)], dtype=np.int64)

    # -- names -------------------------------------------------------------------------------

    def search(self, prefix: str, limit: int = 10) -> list[SearchMatch]:
        """Taxa with a scientific or common name (or synonym) starting with `prefix`, case
        and blanks aside, best first (see `names.py` for the order); one match per taxon."""
        index = self._open()
        key = key_of(prefix)
        limit = max(1, min(limit, MAX_SEARCH_LIMIT))
        if not key:
            return []
        entries, exact = ranked_prefix(index, key, limit)
        matches: list[SearchMatch] = []
        seen: set[int] = set()
        for position, entry in enumerate(entries):
            taxid = int(index.key_taxid[entry])
            if taxid in seen:
                continue
            seen.add(taxid)
            matches.append(
                SearchMatch(
                    taxid=taxid,
                    scientific_name=index.name(taxid),
                    common_name=index.common_name(taxid),
                    rank=index.rank_of(taxid),
                    matched_name=index.matched_name(entry),
                    name_class=CLASS_LABELS[int(index.key_class[entry])],
                    exact=position < exact,
                )
            )
            if len(matches) == limit:
                break
        return matches

    def resolve(self, value: int | str, *, field: str | None = None) -> int:
        """A taxid (int, "562", "txid562"; merged ids give the current one) or a name.

        Names are matched case-insensitively: a scientific name first; failing that a common
        name or synonym, when only one taxon has it. Unknown names raise `unknown_taxon` with
        close names; a name several taxa share raises `ambiguous_taxon` listing them.
        """
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise BlastDeckError(
                ErrorCode.INVALID_TAXON_FILTER,
                f"A taxon is a taxid or a name, not {type(value).__name__}.",
                field=field,
            )
        if isinstance(value, int):
            return self._current(value, field)
        digits = _TAXID_TEXT.fullmatch(value.strip())
        if digits:
            return self._current(int(digits.group(1)), field)
        return self._resolve_name(" ".join(value.split()), field)

    def find(self, name: str) -> list[int]:
        """The taxa whose scientific name this is (case and blanks aside): none, one, or
        several homonyms. Cheap: no suggestions are computed (for mapping many titles)."""
        index = self._open()
        lo, hi = index.exact_range(key_of(name))
        classes = np.asarray(index.key_class[lo:hi])
        return sorted(set(np.asarray(index.key_taxid[lo:hi])[classes == SCIENTIFIC].tolist()))

    def _resolve_name(self, name: str, field: str | None) -> int:
        index = self._open()
        lo, hi = index.exact_range(key_of(name))
        classes = np.asarray(index.key_class[lo:hi])
        taxa = np.asarray(index.key_taxid[lo:hi])
        for wanted in (classes == SCIENTIFIC, classes != SCIENTIFIC):
            # A later word of a common name is not the name: "mouse" is not "house mouse".
            found = sorted(set(taxa[wanted & (classes != COMMON_WORD)].tolist()))
            if len(found) == 1:
                return int(found[0])
            if len(found) > 1:
                raise errors.ambiguous_name(name, [self._describe(t) for t in found], field)
        suggestions = [
            f"{index.matched_name(e)} ({int(index.key_taxid[e])})"
            for e in close_entries(index, key_of(name))
        ]
        raise errors.unknown_name(name, suggestions, field)

    def _describe(self, taxid: int) -> str:
        """One homonym, told apart by its rank and its place: 'Bacillus (1386, genus; Bacteria,
        Bacillota)'."""
        taxon = self.get(taxid)
        where = [
            entry.name
            for rank in ("superkingdom", "phylum", "class")
            if (entry := taxon.lineage[rank]) is not None and entry.taxid != taxid
        ]
        place = "; " + ", ".join(where) if where else ""
        return f"{taxon.scientific_name} ({taxid}, {taxon.rank}{place})"

    # -- filters -----------------------------------------------------------------------------

    def expand(
        self,
        include: Iterable[TaxonRef | int | str],
        exclude: Iterable[TaxonRef | int | str] = (),
        *,
        include_field: str = "options.taxids",
        exclude_field: str = "options.negative_taxids",
    ) -> TaxidLists:
        """The taxid lists for BLAST: what `include` names, with descendants, less what
        `exclude` names (-taxidlist); or, with nothing included, what `exclude` names
        (-negative_taxidlist). The root included means everything."""
        # No domain-level conflict check here: the one on resolved taxids below names the
        # taxon, and also catches "562" vs "Escherichia coli".
        spec = TaxonFilter(
            include=tuple(_ref(v, include_field) for v in include),
            exclude=tuple(_ref(v, exclude_field) for v in exclude),
        )
        return self.expand_filter(spec, include_field=include_field, exclude_field=exclude_field)

    def expand_filter(
        self,
        spec: TaxonFilter,
        *,
        include_field: str = "options.taxids",
        exclude_field: str = "options.negative_taxids",
    ) -> TaxidLists:
        index = self._open()
        kept = [(self._ref_taxid(r, include_field), r.descendants) for r in spec.include]
        dropped = [(self._ref_taxid(r, exclude_field), r.descendants) for r in spec.exclude]
        for taxid, with_descendants in kept:  # the same check as the domain's, on taxids now
            for other, other_descendants in dropped:
                if other == taxid and (other_descendants or not with_descendants):
                    raise BlastDeckError(
                        ErrorCode.TAXON_FILTER_CONFLICT,
                        f"{index.name(taxid)} ({taxid}) is both included and excluded; keep "
                        "it in one list only.",
                        field=exclude_field,
                        detail={"taxon": str(taxid)},
                    )
        include_taxa = tuple(t for t, _ in kept)
        exclude_taxa = tuple(t for t, _ in dropped)
        everything = any(t == index.root and d for t, d in kept)
        if not kept or everything:
            excluded = self._mark(dropped) if dropped else None
            return TaxidLists(None, excluded, include_taxa, exclude_taxa)
        result = self._mark(kept, dropped)
        if not len(result):
            raise BlastDeckError(
                ErrorCode.TAXON_FILTER_EMPTY,
                "Nothing is left to search: every taxon included is also excluded (it is "
                "under an excluded taxon).",
                field=exclude_field,
            )
        return TaxidLists(result, None, include_taxa, exclude_taxa)

    def _ref_taxid(self, ref: TaxonRef, field: str) -> int:
        return self.resolve(ref.taxid if ref.taxid is not None else ref.name or "", field=field)

    def _mark(
        self, kept: Sequence[tuple[int, bool]], dropped: Sequence[tuple[int, bool]] = ()
    ) -> np.ndarray:
        """The sorted taxids of the `kept` taxa less those of the `dropped` (each with its
        descendants where its flag says so). Each is a slice of the tree's pre-order, so the
        mask spans only the kept slices' range: a mask over all ~2.6 million taxa cost a filter
        on an order ~1.3 ms of its job's submit."""
        index = self._open()
        keep = [self._span(index, taxid, descendants) for taxid, descendants in kept]
        low, high = min(start for start, _ in keep), max(stop for _, stop in keep)
        mask = np.zeros(high - low, dtype=bool)
        for start, stop in keep:
            mask[start - low : stop - low] = True
        for taxid, descendants in dropped:  # clipped to the kept range (may miss it entirely)
            start, stop = self._span(index, taxid, descendants)
            mask[max(start, low) - low : max(min(stop, high) - low, 0)] = False
        return np.sort(np.asarray(index.order[low:high])[mask]).astype(np.int64)

    @staticmethod
    def _span(index: TaxonomyIndex, taxid: int, with_descendants: bool) -> tuple[int, int]:
        """The taxon's [start, stop) in the pre-order: its subtree, or itself alone."""
        if with_descendants:
            whole = index.subtree_slice(taxid)
            return whole.start, whole.stop
        start = int(index.pre[taxid])
        return start, start + 1

    # -- many taxa ---------------------------------------------------------------------------

    def lineage_names(self, taxids: object) -> LineageTable:
        """Name, rank and standard-rank ancestors of each distinct taxid given (any array or
        iterable of ints, e.g. every HSP's staxid); see `LineageTable`."""
        return lineage_table(self._open(), taxids)

    def organisms(self, taxids: object) -> OrganismTable:
        """`lineage_names` with each taxon's common name: the organism of each distinct
        taxid given (a page's, or a job's), for results."""
        return organism_table(self._open(), taxids)

    def preorder_positions(self, taxids: np.ndarray) -> np.ndarray:
        """Each taxid's place in the tree's pre-order (-1: unknown); with `subtree_bounds`,
        "under this taxon" becomes a range check per element."""
        return preorder_positions(self._open(), taxids)

    def subtree_bounds(self, taxid: int, field: str | None = None) -> tuple[int, int]:
        """[start, end) of the taxon's pre-order slice: it and every taxon under it.
        Unknown taxid: `unknown_taxon`."""
        return subtree_bounds(self._open(), self._current(taxid, field))


def _ref(value: TaxonRef | int | str, field: str) -> TaxonRef:
    return value if isinstance(value, TaxonRef) else parse_taxon_ref(value, field)
