// One BLAST option input, chosen by the option's kind from /api/options.
import type { OptionSpec } from '../../api/types';
import { isBoolKind, isFlagKind, isNumberKind, isRangeKind, type OptionInput } from '../../validation/options';
import { FieldError, type ShownError } from './FieldError';

interface Props {
  spec: OptionSpec;
  value: OptionInput | undefined;
  onChange: (value: OptionInput) => void;
  error: ShownError | undefined;
  /** Overrides the spec's choices (tasks come from /api/programs). */
  choices?: string[];
  defaultLabel?: string;
}

export function OptionField({ spec, value, onChange, error, choices, defaultLabel }: Props) {
  const id = `opt-${spec.name}`;
  const defaultText = defaultLabel ?? spec.default ?? '';
  // A long default ("depends on the task ...") reads better in the hint than in the box.
  const shortDefault = defaultText.length <= 16;
  const placeholder = shortDefault ? defaultText : 'default';
  const described = [spec.summary, spec.accepts ? `(${spec.accepts})` : ''].filter(Boolean).join(' ');
  // "Summary (accepts)." then the long default as a sentence of its own.
  const hint = !shortDefault && defaultText ? `${described}. Default: ${defaultText}.` : described;

  if (isFlagKind(spec.kind)) {
    return (
      <div className="field field-check">
        <label htmlFor={id}>
          <input id={id} type="checkbox" checked={value === true || value === 'true'} onChange={(e) => onChange(e.target.checked)} data-testid={id} />
          <span className="label">{spec.name}</span>
        </label>
        <span className="hint">{hint}</span>
        <FieldError name={id} error={error} />
      </div>
    );
  }

  let control;
  if (isBoolKind(spec.kind) || spec.kind === 'choice') {
    const list = isBoolKind(spec.kind) ? ['true', 'false'] : (choices ?? spec.choices ?? []);
    control = (
      <select id={id} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} data-testid={id} aria-invalid={!!error}>
        <option value="">default{shortDefault && defaultText ? ` (${defaultText})` : ''}</option>
        {list.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  } else if (isNumberKind(spec.kind)) {
    const integer = spec.kind === 'int';
    control = (
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        step={integer ? 1 : 'any'}
        min={spec.minimum ?? undefined}
        max={spec.maximum ?? undefined}
        placeholder={placeholder}
        value={String(value ?? '')}
        onChange={(e) => onChange(e.target.value)}
        data-testid={id}
        aria-invalid={!!error}
      />
    );
  } else if (isRangeKind(spec.kind)) {
    // A stretch of positions, checked as the server checks it (validation/options.ts).
    control = (
      <input
        id={id}
        type="text"
        inputMode="numeric"
        pattern="[0-9]+ *- *[0-9]+"
        placeholder="START-STOP, e.g. 101-250"
        value={String(value ?? '')}
        onChange={(e) => onChange(e.target.value)}
        data-testid={id}
        aria-invalid={!!error}
      />
    );
  } else {
    control = (
      <input id={id} type="text" placeholder={placeholder} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} data-testid={id} aria-invalid={!!error} />
    );
  }

  return (
    <div className="field">
      <label className="label" htmlFor={id} title={spec.blast_argument}>
        {spec.name}
      </label>
      {control}
      <span className="hint">{hint}</span>
      <FieldError name={id} error={error} />
    </div>
  );
}
