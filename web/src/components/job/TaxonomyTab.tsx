// The job's hits by organism, like NCBI's taxonomy reports: the lineage tree with hits and
// distinct subjects under each node, and the organism table; for one query or all of them,
// optionally rolled up to a rank. Clicking an organism (or a node) opens its hits.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { Job, Rank, TaxonomyNode, TaxonomyOrganism, TaxonomyParams } from '../../api/types';
import { formatCount, formatEvalue, formatPercent } from '../../format/text';
import { RANKS, hitsOfTaxon, nodeName, taxonomySummary } from '../../results/taxonomy';
import { ErrorNote } from '../ErrorNote';
import { useJobResults } from './JobResultsContext';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';

export function TaxonomyTab({ job }: { job: Job }) {
  const queries = useJobQueries(job);
  const { results } = useJobResults();
  const [queryIndex, setQueryIndex] = useState<number | null>(null);
  const [rank, setRank] = useState<Rank | null>(null);
  const [, setParams] = useSearchParams();
  const params: TaxonomyParams = { query_index: queryIndex ?? undefined, rank: rank ?? undefined };
  const report = useQuery({
    queryKey: ['taxonomy', results.base, params],
    queryFn: () => results.taxonomy(params),
    placeholderData: keepPreviousData,
    staleTime: Infinity, // a completed job's report does not change
  });
  const openHits = (taxid: number, name: string | null) => setParams((prev) => hitsOfTaxon(prev, taxid, name));
  const data = report.data;
  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} program={job.program} value={queryIndex} onChange={setQueryIndex} allowAll testId="taxonomy-query" />
        <label className="field field-inline">
          <span className="label">Roll up to</span>
          <select value={rank ?? ''} onChange={(e) => setRank(e.target.value === '' ? null : (e.target.value as Rank))} data-testid="taxonomy-rank">
            <option value="">organisms as found</option>
            {RANKS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <a className="btn btn-small" href={results.taxonomyTsvUrl(params)} download data-testid="taxonomy-download">
          Organisms (TSV)
        </a>
        {report.isFetching && <span className="muted small">Loading…</span>}
      </div>
      {report.error && <ErrorNote error={report.error} testId="taxonomy-error" />}
      {!data && report.isPending && <p className="card muted">Grouping the hits by organism…</p>}
      {data && (
        <p className="muted small" data-testid="taxonomy-summary" data-hits={data.hits} data-organisms={data.organisms.length}>
          {taxonomySummary(data, rank, data.query_id != null ? `query ${data.query_id}` : 'all queries')}
        </p>
      )}
      {data && data.organisms.length === 0 && (
        <p className="card muted" data-testid="taxonomy-empty">
          No hits, so no organisms.
        </p>
      )}
      {data && data.organisms.length > 0 && (
        <div className="taxonomy-split">
          <OrganismTable organisms={data.organisms} onOpen={openHits} />
          <LineageTree nodes={data.tree} onOpen={openHits} />
        </div>
      )}
    </div>
  );
}

function LineageTree({ nodes, onOpen }: { nodes: TaxonomyNode[]; onOpen: (taxid: number, name: string | null) => void }) {
  return (
    <div className="card table-card">
      <h3>Lineage</h3>
      <table className="table taxonomy-tree" data-testid="taxonomy-tree">
        <thead>
          <tr>
            <th>Taxon</th>
            <th>Rank</th>
            <th className="num" title="Hits (query-subject pairs) of the organisms at or under it">Hits</th>
            <th className="num" title="Distinct subjects of the organisms at or under it">Subjects</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={`${n.parent_taxid}-${n.taxid}`} data-testid="taxonomy-node" data-taxid={n.taxid} data-depth={n.depth}>
              <td style={{ paddingLeft: `${0.5 + n.depth * 1.1}em` }}>
                {n.taxid ? (
                  <button type="button" className="link-button" onClick={() => onOpen(n.taxid, n.name)} title={`taxid ${n.taxid}: open its hits`}>
                    {nodeName(n)}
                  </button>
                ) : (
                  <span className="muted">{nodeName(n)}</span>
                )}
              </td>
              <td className="muted small">{n.rank ?? ''}</td>
              <td className="num">{formatCount(n.hits)}</td>
              <td className="num">{formatCount(n.subjects)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OrganismTable({ organisms, onOpen }: { organisms: TaxonomyOrganism[]; onOpen: (taxid: number, name: string | null) => void }) {
  return (
    <div className="card table-card">
      <h3>Organisms</h3>
      <table className="table" data-testid="taxonomy-organisms">
        <thead>
          <tr>
            <th>Organism</th>
            <th className="num">Taxid</th>
            <th>Rank</th>
            <th className="num">Hits</th>
            <th className="num">Subjects</th>
            <th className="num" title="The best bit score of its hits">Best score</th>
            <th className="num">Best E value</th>
            <th className="num">Best ident.</th>
          </tr>
        </thead>
        <tbody>
          {organisms.map((o) => (
            <tr
              key={o.taxid}
              className={o.taxid ? 'clickable' : undefined}
              onClick={o.taxid ? () => onOpen(o.taxid, o.scientific_name) : undefined}
              title={o.lineage.join(' › ')}
              data-testid="taxonomy-organism"
              data-taxid={o.taxid}
            >
              <td>
                {o.scientific_name ?? <span className="muted">no taxid</span>}
                {o.common_name && <span className="muted small"> ({o.common_name})</span>}
              </td>
              <td className="num mono">{o.taxid || ''}</td>
              <td className="muted small">{o.rank ?? ''}</td>
              <td className="num">{formatCount(o.hits)}</td>
              <td className="num">{formatCount(o.subjects)}</td>
              <td className="num">{o.best_bitscore}</td>
              <td className="num">{formatEvalue(o.best_evalue)}</td>
              <td className="num">{formatPercent(o.best_pident)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
