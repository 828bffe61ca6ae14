// One query's hits drawn along it: a ruler, then one row per subject, its HSPs coloured by score.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Job } from '../../api/types';
import { SCORE_BANDS, rulerTicks, scoreBand, subjectRows } from '../../format/graphic';
import { formatCount, formatEvalue, plural } from '../../format/text';
import { firstQueryIndex, lengthUnit, queryName } from '../../results/queries';
import { ErrorNote } from '../ErrorNote';
import { useJobResults } from './JobResultsContext';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';

const MAX_SUBJECTS = 100;
/** HSPs read for one query (the API's page limit); the best by bit score. */
const MAX_HSPS = 1000;
const WIDTH = 900;
const LEFT = 10;
const RIGHT = 10;
const RULER_H = 34;
const ROW_H = 8;
const ROW_GAP = 4;

export function GraphicTab({ job }: { job: Job }) {
  const queries = useJobQueries(job);
  const { results } = useJobResults();
  const [chosen, setChosen] = useState<number | null>(null);
  const queryIndex = chosen ?? firstQueryIndex(queries.data);
  const query = queries.data?.find((q) => q.query_index === queryIndex);

  const hsps = useQuery({
    queryKey: ['graphic', results.base, queryIndex],
    queryFn: () => results.hsps({ query_index: queryIndex!, sort: 'bitscore', order: 'desc', limit: MAX_HSPS, offset: 0 }),
    enabled: queryIndex !== null,
    staleTime: Infinity,
  });

  if (queries.data && queries.data.every((q) => q.hits === 0)) {
    return <p className="card muted" data-testid="graphic-empty">This search found no hits.</p>;
  }
  const items = hsps.data?.items ?? [];
  const qlen = query?.qlen ?? items[0]?.qlen ?? 0;
  const rows = subjectRows(items, MAX_SUBJECTS);
  const hits = query?.hits ?? rows.length;

  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} program={job.program} value={queryIndex} onChange={setChosen} testId="graphic-query" />
        <Legend />
      </div>
      {(queries.error || hsps.error) && <ErrorNote error={queries.error ?? hsps.error} />}
      {(queries.isPending || hsps.isPending) && (queryIndex !== null || queries.isPending) && <p className="muted">Loading…</p>}
      {hsps.data && query && query.hits === 0 && (
        <p className="card muted" data-testid="graphic-none">
          Query {queryName(query)} has no hits.
        </p>
      )}
      {hsps.data && qlen > 0 && rows.length > 0 && (
        <section className="card">
          <p className="muted small" data-testid="graphic-caption">
            {rows.length < hits ? `The best ${rows.length} of ${plural(hits, 'hit')}` : plural(rows.length, 'hit')} along query{' '}
            {query ? queryName(query) : ''} ({formatCount(qlen)} {lengthUnit(job.program)}), one row per subject, its HSPs as
            bars. Hover a bar for its scores.
          </p>
          <HitMap qlen={qlen} rows={rows} />
        </section>
      )}
    </div>
  );
}

function Legend() {
  return (
    <div className="legend" data-testid="graphic-legend" aria-label="Colour key for alignment scores">
      <span className="muted small">HSP bit score:</span>
      {SCORE_BANDS.map((b) => (
        <span key={b.label} className="legend-item">
          <svg width="14" height="10" aria-hidden="true">
            <rect width="14" height="10" fill={b.color} />
          </svg>
          {b.label}
        </span>
      ))}
    </div>
  );
}
function HitMap({ qlen, rows }: { qlen: number; rows: ReturnType<typeof subjectRows> }) {
  const span = WIDTH - LEFT - RIGHT;
  // Position p covers [p-1, p] in query letters.
  const x = (pos: number) => LEFT + ((pos - 1) / qlen) * span;
  const height = RULER_H + rows.length * (ROW_H + ROW_GAP) + 6;
  const ticks = rulerTicks(qlen);
  return (
    <svg className="hitmap" viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label="Hits along the query" data-testid="graphic-svg">
      <g className="ruler">
        <rect x={LEFT} y={RULER_H - 14} width={span} height={6} fill="#c33" />
        {ticks.map((t) => (
          <g key={t}>
            <line x1={x(t) + (t === qlen ? span / qlen : 0)} x2={x(t) + (t === qlen ? span / qlen : 0)} y1={RULER_H - 18} y2={RULER_H - 6} stroke="#555" />
            <text x={x(t)} y={RULER_H - 22} fontSize="10" textAnchor={t === 1 ? 'start' : t === qlen ? 'end' : 'middle'} fill="#333">
              {t}
            </text>
          </g>
        ))}
      </g>
      {rows.map((row, i) => {
        const y = RULER_H + i * (ROW_H + ROW_GAP);
        return (
          <g key={row.subjectId} data-testid="graphic-row" data-subject={row.subjectId}>
            {row.segments.map((s, k) => (
              <rect
                key={k}
                x={x(s.from)}
                y={y}
                width={Math.max(1, ((s.to - s.from + 1) / qlen) * span)}
                height={ROW_H}
                fill={SCORE_BANDS[scoreBand(s.bitscore)]!.color}
              >
                <title>
                  {`${row.subjectId} ${row.title}\n${s.bitscore} bits, e-value ${formatEvalue(s.evalue)}, ${s.pident}% identity\nquery ${s.from}–${s.to}`}
                </title>
              </rect>
            ))}
          </g>
        );
      })}
    </svg>
  );
}
