// Turning the form's option inputs into the JSON the server takes, checked against /api/options.
import type { OptionSpec, OptionValue } from '../api/types';

/** What the form holds per option: text for inputs and selects, boolean for flag checkboxes. */
export type OptionInput = string | boolean;

export type OptionResult = { ok: true; value: OptionValue | undefined } | { ok: false; message: string };

/** A flag is either given or not: a checkbox. */
export function isFlagKind(kind: string): boolean {
  return kind === 'flag';
}

/** A bool may default to true (soft_masking for blastn), so it needs three states: a select. */
export function isBoolKind(kind: string): boolean {
  return kind === 'bool' || kind === 'boolean';
}

export function isNumberKind(kind: string): boolean {
  return kind === 'int' || kind === 'integer' || kind === 'float' || kind === 'number';
}

/** A stretch of positions, START-STOP (query_loc): a text box. */
export function isRangeKind(kind: string): boolean {
  return kind === 'range';
}

/** BLAST's positions are 32-bit signed integers. */
const INT32_MAX = 2_147_483_647;
const RANGE_RE = /^([0-9]{1,10})\s*-\s*([0-9]{1,10})$/;

/** As the server checks it: START-STOP, 1-based, START below STOP; sent as "START-STOP". */
export function parseRange(text: string): OptionResult {
  const match = RANGE_RE.exec(text.trim());
  if (!match) return { ok: false, message: 'Enter positions as START-STOP, e.g. 101-250.' };
  const start = Number(match[1]);
  const stop = Number(match[2]);
  if (start < 1) return { ok: false, message: 'Positions start at 1.' };
  if (start >= stop) return { ok: false, message: 'START must be below STOP.' };
  if (stop > INT32_MAX) return { ok: false, message: `STOP must be at most ${INT32_MAX}.` };
  return { ok: true, value: `${start}-${stop}` };
}

/** Parse one input; `undefined` value means "not filled, don't send". */
export function parseOption(spec: OptionSpec, input: OptionInput | undefined): OptionResult {
  if (input === undefined) return { ok: true, value: undefined };
  if (isFlagKind(spec.kind)) {
    // Unchecked means "leave BLAST's default": only a ticked box is sent.
    return { ok: true, value: input === true || input === 'true' ? true : undefined };
  }
  const text = String(input).trim();
  if (text === '') return { ok: true, value: undefined };
  if (isBoolKind(spec.kind)) {
    if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
    return { ok: false, message: 'Choose true or false.' };
  }
  if (isNumberKind(spec.kind)) return parseNumber(spec, text);
  if (isRangeKind(spec.kind)) return parseRange(text);
  if (spec.kind === 'choice' && spec.choices && !spec.choices.includes(text)) {
    return { ok: false, message: `Choose one of ${spec.choices.join(', ')}.` };
  }
  return { ok: true, value: text };
}

function parseNumber(spec: OptionSpec, text: string): OptionResult {
  const integer = spec.kind === 'int';
  const pattern = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  if (!pattern.test(text)) return { ok: false, message: integer ? 'Enter a whole number.' : 'Enter a number.' };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, message: 'Enter a finite number.' };
  const { minimum: min, maximum: max } = spec;
  if (min != null && (spec.exclusive_minimum ? value <= min : value < min)) {
    return { ok: false, message: spec.exclusive_minimum ? `Must be greater than ${min}.` : `Must be at least ${min}.` };
  }
  if (max != null && value > max) return { ok: false, message: `Must be at most ${max}.` };
  return { ok: true, value };
}

/** All filled options as the request's `options`, or the per-option errors. */
export function collectOptions(
  specs: OptionSpec[],
  inputs: Record<string, OptionInput | undefined>,
): { options: Record<string, OptionValue>; errors: Record<string, string> } {
  const options: Record<string, OptionValue> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const result = parseOption(spec, inputs[spec.name]);
    if (!result.ok) errors[spec.name] = result.message;
    else if (result.value !== undefined) options[spec.name] = result.value;
  }
  return { options, errors };
}

/** Form inputs from a job's stored options (for "duplicate"). */
export function inputsFromOptions(options: Record<string, OptionValue>): Record<string, OptionInput> {
  const inputs: Record<string, OptionInput> = {};
  for (const [name, value] of Object.entries(options)) inputs[name] = String(value);
  return inputs;
}
