// Hits of one query drawn along it: a ruler, then one row per subject coloured by score.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/endpoints';
import type { Job } from '../../api/types';
import { SCORE_BANDS, rulerTicks, scoreBand, subjectRows } from '../../format/graphic';
import { formatEvalue } from '../../format/text';
import { ErrorNote } from '../ErrorNote';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';

const MAX_SUBJECTS = 100;
const WIDTH = 900;
const LEFT = 10;
const RIGHT = 10;
const RULER_H = 34;
const ROW_H = 8;
const ROW_GAP = 4;

export function GraphicTab({ job }: { job: Job }) {
  const queries = useJobQueries(job.id);
  const [chosen, setChosen] = useState('');
  const queryId = chosen || queries.data?.[0]?.query_id || '';

  const hits = useQuery({
    queryKey: ['graphic', job.id, queryId],
    queryFn: () => api.hits(job.id, { query_id: queryId, sort: 'bitscore', order: 'desc', limit: 1000, offset: 0 }),
    enabled: !!queryId,
    staleTime: Infinity,
  });

  if (queries.data && queries.data.length === 0) {
    return <p className="card muted" data-testid="graphic-empty">This search found no hits.</p>;
  }
  const items = hits.data?.items ?? [];
  const qlen = queries.data?.find((q) => q.query_id === queryId)?.qlen ?? items[0]?.qlen ?? 0;
  const rows = subjectRows(items, MAX_SUBJECTS);
  const distinctSubjects = new Set(items.map((h) => h.subject_id)).size;

  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} value={queryId} onChange={setChosen} testId="graphic-query" />
        <Legend />
      </div>
      {(queries.error || hits.error) && <ErrorNote error={queries.error ?? hits.error} />}
      {(queries.isPending || hits.isPending) && !!(queryId || queries.isPending) && <p className="muted">Loading…</p>}
      {hits.data && qlen > 0 && (
        <section className="card">
          <p className="muted small">
            {rows.length < distinctSubjects || distinctSubjects >= MAX_SUBJECTS
              ? `The best ${rows.length} subjects`
              : `${rows.length} subject${rows.length === 1 ? '' : 's'}`}{' '}
            along query {queryId} ({qlen.toLocaleString('en-US')} letters). Hover a bar for its scores.
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
      <span className="muted small">Alignment score (bits):</span>
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
