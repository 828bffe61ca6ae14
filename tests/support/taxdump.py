"""A small NCBI taxdump, written in NCBI's exact format (fields separated by "\\t|\\t", lines
ending in "\\t|\\n"), for the operator-override path (BLASTDECK_TAXONOMY_DIR).

The taxa are a real excerpt of the NCBI Taxonomy (taxids, parents, ranks and names as NCBI
has them), including the homonym genus Bacillus (1386, bacteria; 55087, stick insects), a
"no rank" node and a superorder between the standard ranks, and every names.dmp class
BlastDeck reads or must ignore. The merged.dmp pairs are illustrative (old ids renumbered
into taxa of this excerpt), in merged.dmp's format.
"""

from __future__ import annotations

from pathlib import Path

# taxid, parent, rank, scientific name
NODES: list[tuple[int, int, str, str]] = [
    (1, 1, "no rank", "root"),
    (131567, 1, "no rank", "cellular organisms"),
    (2, 131567, "superkingdom", "Bacteria"),
    (1224, 2, "phylum", "Pseudomonadota"),
    (1236, 1224, "class", "Gammaproteobacteria"),
    (91347, 1236, "order", "Enterobacterales"),
    (543, 91347, "family", "Enterobacteriaceae"),
    (561, 543, "genus", "Escherichia"),
    (562, 561, "species", "Escherichia coli"),
    (83333, 562, "strain", "Escherichia coli K-12"),
    (590, 543, "genus", "Salmonella"),
    (28901, 590, "species", "Salmonella enterica"),
    (1239, 2, "phylum", "Bacillota"),
    (91061, 1239, "class", "Bacilli"),
    (1385, 91061, "order", "Bacillales"),
    (186817, 1385, "family", "Bacillaceae"),
    (1386, 186817, "genus", "Bacillus"),
    (1423, 1386, "species", "Bacillus subtilis"),
    (2759, 131567, "superkingdom", "Eukaryota"),
    (33208, 2759, "kingdom", "Metazoa"),
    (6656, 33208, "phylum", "Arthropoda"),
    (50557, 6656, "class", "Insecta"),
    (7020, 50557, "order", "Phasmatodea"),
    (55086, 7020, "family", "Bacillidae"),
    (55087, 55086, "genus", "Bacillus"),
    (7711, 33208, "phylum", "Chordata"),
    (40674, 7711, "class", "Mammalia"),
    (314146, 40674, "superorder", "Euarchontoglires"),
    (9443, 314146, "order", "Primates"),
    (9604, 9443, "family", "Hominidae"),
    (9605, 9604, "genus", "Homo"),
    (9606, 9605, "species", "Homo sapiens"),
    (9989, 314146, "order", "Rodentia"),
    (10066, 9989, "family", "Muridae"),
    (10088, 10066, "genus", "Mus"),
    (10090, 10088, "species", "Mus musculus"),
]

# taxid, name, unique name, name class: every other class NCBI uses for these taxa
NAMES: list[tuple[int, str, str, str]] = [
    (2, "bacteria", "bacteria <blast2>", "blast name"),
    (2, "eubacteria", "", "genbank common name"),
    (2, "Monera", "Monera <bacteria>", "in-part"),
    (1224, "Proteobacteria", "", "synonym"),
    (1224, "proteobacteria", "proteobacteria <blast1224>", "blast name"),
    (91347, "enterobacteria", "enterobacteria<blast91347>", "blast name"),
    (562, "Bacillus coli", "", "synonym"),
    (562, "Bacterium coli", "", "synonym"),
    (562, "E. coli", "", "common name"),
    (562, "Escherichia coli (Migula 1895) Castellani and Chalmers 1919", "", "authority"),
    (562, "ATCC 11775", "", "type material"),
    (1386, "Bacillus Cohn 1872", "", "authority"),
    (1423, "Vibrio subtilis", "", "synonym"),
    (1423, "hay bacillus", "", "common name"),
    (9606, "human", "", "genbank common name"),
    (9606, "man", "", "common name"),
    (10090, "house mouse", "", "genbank common name"),
    (10090, "mouse", "", "common name"),
    (10090, "LK3 transgenic mice", "", "includes"),
]
UNIQUE_NAMES = {1386: "Bacillus <bacterium>", 55087: "Bacillus <stick insect>"}

# old taxid, the taxid it was merged into
MERGED: list[tuple[int, int]] = [(469598, 562), (1637912, 562), (63221, 9606)]

HOMONYM = "Bacillus"


def _line(*fields: object) -> str:
    return "\t|\t".join(str(f) for f in fields) + "\t|\n"


def write_taxdump(
    directory: Path,
    *,
    domain_rank: str = "superkingdom",
    nodes_fields: int = 13,
    merged: bool = True,
) -> Path:
    """Writes names.dmp, nodes.dmp and (unless told not to) merged.dmp into `directory`.

    `domain_rank="domain"` writes Bacteria and Eukaryota as NCBI has since 2025;
    `nodes_fields=18` writes nodes.dmp as NCBI has since 2023 (five more columns).
    """
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "nodes.dmp").open("w") as fh:
        for taxid, parent, rank, _ in NODES:
            rank = domain_rank if rank == "superkingdom" else rank
            # embl code, division, inherited div, genetic code, inherited GC, mito code,
            # inherited MGC, GenBank hidden, hidden subtree root, comments
            rest: list[object] = ["", 0, 1, 11, 1, 0, 1, 0, 0, ""]
            if nodes_fields == 18:
                rest += [0, 1, 1, 0, 1]
            fh.write(_line(taxid, parent, rank, *rest))
    with (directory / "names.dmp").open("w") as fh:
        for taxid, _, _, name in NODES:
            fh.write(_line(taxid, name, UNIQUE_NAMES.get(taxid, ""), "scientific name"))
        for taxid, name, unique, name_class in NAMES:
            fh.write(_line(taxid, name, unique, name_class))
    if merged:
        with (directory / "merged.dmp").open("w") as fh:
            for old, new in MERGED:
                fh.write(_line(old, new))
    return directory


def subtree(taxid: int) -> set[int]:
    """The taxon and its descendants in this dump, by the parent column alone."""
    found = {taxid}
    grew = True
    while grew:
        more = {t for t, parent, _, _ in NODES if parent in found and t != parent}
        grew = not more <= found
        found |= more
    return found
