// The organism filter: type a name (autocomplete from /api/taxonomy/search), pick a taxon to
// include (search only within it and its descendants) or exclude. The input is a combobox: the
// arrow keys move through the suggestions and Enter picks one; Enter here never sends the form
// (a new user's ArrowDown + Enter sent the search unfiltered). The typed text is the form's, so
// that text left unchosen stops the submit rather than being dropped.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type KeyboardEvent } from 'react';
import { api } from '../../api/endpoints';
import type { Database, TaxonMatch } from '../../api/types';
import { addTaxon, coverageText, moveActive, pickedOnEnter, removeTaxon, whyNoOrganisms, type ChosenTaxon, type TaxonMode } from '../../search/taxa';
import { FieldError, type ShownError } from './FieldError';

interface Props {
  value: ChosenTaxon[];
  onChange: (taxa: ChosenTaxon[]) => void;
  text: string; // typed, not yet chosen
  onText: (text: string) => void;
  database: Database | undefined;
  error: ShownError | undefined;
}

export function OrganismField({ value, onChange, text, onText, database, error }: Props) {
  const [mode, setMode] = useState<TaxonMode>('include');
  const [active, setActive] = useState(-1); // the highlighted suggestion, -1 none
  const q = text.trim();
  const matches = useQuery({
    queryKey: ['taxa', q],
    queryFn: () => api.taxonomySearch(q),
    enabled: q.length >= 2,
    staleTime: 5 * 60_000,
  });
  const why = whyNoOrganisms(database);
  const shown = q.length >= 2 && !why;
  const suggestions = shown ? matches.data : undefined;
  const setText = (next: string) => {
    onText(next);
    setActive(-1);
  };
  const choose = (m: TaxonMatch) => {
    onChange(addTaxon(value, { taxid: m.taxid, name: m.scientific_name, rank: m.rank, mode }));
    setText('');
  };
  // The highlighted suggestion stays in view in the list's scroll.
  useEffect(() => {
    if (active >= 0) document.getElementById(`organism-suggestion-${active}`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape') setText('');
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive(moveActive(active, suggestions?.length ?? 0, e.key));
    } else if (e.key === 'Enter' && q) {
      e.preventDefault(); // never the form's submit: the typed name is not a chosen taxon yet
      const picked = pickedOnEnter(suggestions, active);
      if (picked) choose(picked);
    }
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
          onKeyDown={onKeyDown}
          autoComplete="off"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={shown}
          aria-controls="organism-suggestions"
          aria-activedescendant={active >= 0 ? `organism-suggestion-${active}` : undefined}
          disabled={!!why}
          data-testid="organism-input"
          aria-invalid={!!error}
        />
        {shown && (
          <ul className="suggestions" id="organism-suggestions" role="listbox" data-testid="organism-suggestions">
            {matches.isPending && <li className="muted">Searching…</li>}
            {suggestions?.length === 0 && <li className="muted">No taxon is named like that.</li>}
            {suggestions?.map((m, i) => (
              <li key={m.taxid} id={`organism-suggestion-${i}`} role="option" aria-selected={i === active} className={i === active ? 'active' : undefined}>
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
