import { describe, expect, it } from 'vitest';
import type { OptionSpec } from '../api/types';
import { collectOptions, inputsFromOptions, parseOption } from './options';

function spec(p: Partial<OptionSpec>): OptionSpec {
  return {
    name: 'x', kind: 'int', summary: '', default: '', accepts: '', minimum: null, maximum: null,
    exclusive_minimum: false, choices: null, blast_argument: '-x', ...p,
  };
}

describe('parseOption', () => {
  it('leaves unfilled options out', () => {
    expect(parseOption(spec({}), '')).toEqual({ ok: true, value: undefined });
    expect(parseOption(spec({}), undefined)).toEqual({ ok: true, value: undefined });
    expect(parseOption(spec({ kind: 'flag' }), false)).toEqual({ ok: true, value: undefined });
  });
  it('checks a range of positions like the server (query_loc)', () => {
    const s = spec({ name: 'query_loc', kind: 'range' });
    expect(parseOption(s, '101-250')).toEqual({ ok: true, value: '101-250' });
    expect(parseOption(s, ' 1 - 2 ')).toEqual({ ok: true, value: '1-2' });
    expect(parseOption(s, '007-10')).toEqual({ ok: true, value: '7-10' });
    expect(parseOption(s, '0-10')).toEqual({ ok: false, message: 'Positions start at 1.' });
    expect(parseOption(s, '250-101')).toEqual({ ok: false, message: 'START must be below STOP.' });
    expect(parseOption(s, '5-5')).toEqual({ ok: false, message: 'START must be below STOP.' });
    expect(parseOption(s, '1-2147483648').ok).toBe(false);
    for (const bad of ['101', '101-', '-250', '1..5', '1-2-3', 'a-b', '1e2-300', '+1-5']) expect(parseOption(s, bad).ok).toBe(false);
  });
  it('checks integers and their range', () => {
    const s = spec({ kind: 'int', minimum: 1, maximum: 5000 });
    expect(parseOption(s, '10')).toEqual({ ok: true, value: 10 });
    expect(parseOption(s, '1.5').ok).toBe(false);
    expect(parseOption(s, '0')).toEqual({ ok: false, message: 'Must be at least 1.' });
    expect(parseOption(s, '5001')).toEqual({ ok: false, message: 'Must be at most 5000.' });
  });
  it('honours an exclusive minimum for floats', () => {
    const s = spec({ kind: 'float', minimum: 0, exclusive_minimum: true });
    expect(parseOption(s, '1e-5')).toEqual({ ok: true, value: 1e-5 });
    expect(parseOption(s, '0')).toEqual({ ok: false, message: 'Must be greater than 0.' });
    expect(parseOption(s, 'abc').ok).toBe(false);
  });
  it('accepts only listed choices', () => {
    const s = spec({ kind: 'choice', choices: ['yes', 'no'] });
    expect(parseOption(s, 'no')).toEqual({ ok: true, value: 'no' });
    expect(parseOption(s, 'maybe').ok).toBe(false);
  });
  it('sends a ticked flag as true and a bool as chosen', () => {
    expect(parseOption(spec({ kind: 'flag' }), true)).toEqual({ ok: true, value: true });
    expect(parseOption(spec({ kind: 'bool' }), 'false')).toEqual({ ok: true, value: false });
    expect(parseOption(spec({ kind: 'bool' }), '')).toEqual({ ok: true, value: undefined });
  });
});

describe('collectOptions', () => {
  it('collects the filled options and the errors', () => {
    const specs = [spec({ name: 'evalue', kind: 'float', minimum: 0, exclusive_minimum: true }), spec({ name: 'word_size', minimum: 4 }), spec({ name: 'task', kind: 'choice', choices: ['megablast'] })];
    expect(collectOptions(specs, { evalue: '0.001', word_size: '', task: 'megablast' })).toEqual({
      options: { evalue: 0.001, task: 'megablast' },
      errors: {},
    });
    expect(collectOptions(specs, { word_size: '2' }).errors).toEqual({ word_size: 'Must be at least 4.' });
  });
  it('round-trips stored options into inputs', () => {
    expect(inputsFromOptions({ evalue: 0.001, ungapped: true, task: 'blastn' })).toEqual({ evalue: '0.001', ungapped: 'true', task: 'blastn' });
  });
});
