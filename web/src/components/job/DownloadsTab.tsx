// The whole result in each export format the server offers, and the hit sequences as FASTA.
import { useJobResults } from './JobResultsContext';

// `key` names an entry (its test id) when `format` alone does not; `columns`: the tsv/csv columns asked for.
export const DOWNLOADS: Array<{
  format: string;
  key?: string;
  columns?: string;
  label: string;
  extension: string;
  description: string;
}> = [
  { format: 'tsv', label: 'TSV', extension: 'tsv', description: "BLAST's 12 standard hit-table columns, tab-separated, with a header row." },
  { format: 'csv', label: 'CSV', extension: 'csv', description: 'The same hit table, comma-separated, with a header row (opens in spreadsheets).' },
  {
    format: 'tsv',
    key: 'ext',
    columns: 'ext',
    label: 'Extended TSV (25 columns)',
    extension: 'tsv',
    description:
      "Galaxy's extended BLAST table: the 12 standard columns, then sallseqid score nident positive gaps ppos qframe sframe qseq sseq qlen slen salltitles, as BLAST prints them.",
  },
  { format: 'json', label: 'BLAST JSON', extension: 'json', description: 'Single-file BLAST JSON (outfmt 15) with full alignments for every query.' },
  { format: 'xml', label: 'BLAST XML', extension: 'xml', description: 'Classic BLAST XML (outfmt 5), read by most tools that import BLAST results.' },
  { format: 'xml2', label: 'BLAST XML2', extension: 'xml2.xml', description: 'Schema-based BLAST XML2 (outfmt 16).' },
  { format: 'text', label: 'Pairwise text', extension: 'txt', description: 'The classic BLAST report with pairwise alignments (outfmt 0).' },
  { format: 'html', label: 'HTML report', extension: 'html', description: 'The pairwise report as a web page.' },
  { format: 'tabular', label: 'Tabular with comments', extension: 'tabular.txt', description: 'BLAST hit table with comment lines per query (outfmt 7).' },
  { format: 'asn1', label: 'BLAST archive (ASN.1)', extension: 'asn', description: 'Text ASN.1 archive (outfmt 11); re-format it later with blast_formatter.' },
];

export function DownloadsTab() {
  const { results } = useJobResults();
  return (
    <section className="card stack">
      <p className="hint" data-testid="downloads-note">
        TSV and CSV come from the job&apos;s own hit table. The other downloads (the extended TSV too) are made by
        blast_formatter from BLAST&apos;s archive of the search: unless the job&apos;s cluster writes that archive with
        each search (its archive_with_search setting), the first of these downloads runs the search again, about as
        long as the job took; later ones start at once.
      </p>
      <ul className="downloads">
        {DOWNLOADS.map((d) => (
          <li key={d.key ?? d.format}>
            <a href={results.downloadUrl(d.format, d.columns)} download data-testid={`download-${d.key ?? d.format}`}>
              {d.label}
            </a>
            <span className="muted">
              {' '}
              (.{d.extension}) — {d.description}
            </span>
          </li>
        ))}
        <li>
          <a href={results.fastaUrl({ region: 'full' })} download data-testid="download-fasta">
            Hit sequences (FASTA)
          </a>
          <span className="muted"> (.fasta) — every hit subject's whole sequence, as blastdbcmd prints it; </span>
          <a href={results.fastaUrl({ region: 'hsp' })} download data-testid="download-fasta-hsp">
            aligned regions only
          </a>
          <span className="muted"> (each HSP's region on its strand). Pick hits on the Hits tab for some of them.</span>
        </li>
      </ul>
    </section>
  );
}
