// The organism filter: type a name (autocomplete from /api/taxonomy/search), pick a taxon to
// include (search only within it and its descendants) or exclude.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/endpoints';
import type { Database, TaxonMatch } from '../../api/types';
import { addTaxon, coverageText, removeTaxon, whyNoOrganisms, type ChosenTaxon, type TaxonMode } from '../../search/taxa';
import { FieldError, type ShownError } from './FieldError';

interface Props {
  value: ChosenTaxon[];
  onChange: (taxa: ChosenTaxon[]) => void;
  database: Database | undefined;
  error: ShownError | undefined;
}

export function OrganismField({ value, onChange, database, error }: Props) {
  const [text, setText] = useState('');
  const [mode, setMode] = useState<TaxonMode>('include');
  const q = text.trim();
  const matches = useQuery({
    queryKey: ['taxa', q],
    queryFn: () => api.taxonomySearch(q),
    enabled: q.length >= 2,
    staleTime: 5 * 60_000,
  });
  const why = whyNoOrganisms(database);
  const choose = (m: TaxonMatch) => {
    onChange(addTaxon(value, { taxid: m.taxid, name: m.scientific_name, rank: m.rank, mode }));
    setText('');
  };

  return (
    <div className="field" data-testid="organism-field">
      <label className="label" htmlFor="organism">
        Organisms
      </label>
      <div className="row organism-row">
        <select value={mode} onChange={(e) => setMode(e.target.value as TaxonMode)} aria-label="include or exclude" data-testid="organism-mode" disabled={!!why}>
          <option value="include">only within</option>
          <option value="exclude">excluding</option>
        </select>
        <input
          id="organism"
          type="text"
          value={text}
          placeholder={why ? 'not available for this database' : 'a name, e.g. Enterobacterales or human'}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && setText('')}
          autoComplete="off"
          disabled={!!why}
          data-testid="organism-input"
          aria-invalid={!!error}
        />
        {q.length >= 2 && !why && (
          <ul className="suggestions" data-testid="organism-suggestions">
            {matches.isPending && <li className="muted">Searching…</li>}
            {matches.data?.length === 0 && <li className="muted">No taxon is named like that.</li>}
            {matches.data?.map((m) => (
              <li key={m.taxid}>
                <button type="button" onClick={() => choose(m)} data-testid="organism-suggestion">
                  {m.scientific_name}
                  {m.common_name ? ` (${m.common_name})` : ''} <span className="muted">{m.rank} · taxid {m.taxid}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      {value.length > 0 && (
        <ul className="row" data-testid="organism-chosen">
          {value.map((t) => (
            <li key={t.taxid} data-testid="organism-chip">
              {t.mode === 'include' ? 'only' : 'not'} {t.name}
              {t.rank ? <span className="muted"> {t.rank}</span> : null}{' '}
              <button type="button" className="btn" aria-label={`remove ${t.name}`} onClick={() => onChange(removeTaxon(value, t.taxid))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <span className="hint" data-testid="organism-hint">
        {why ?? (database ? `Each taxon includes its descendants. ${coverageText(database)}.` : '')}
      </span>
      <FieldError name="organism" error={error} />
    </div>
  );
}
