import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { errorKeyFor, fieldErrorFrom } from './fieldErrors';

describe('errorKeyFor', () => {
  const options = ['evalue', 'word_size'];
  it('maps form fields and options', () => {
    expect(errorKeyFor('query', options)).toBe('query');
    expect(errorKeyFor('namespace', options)).toBe('namespace');
    expect(errorKeyFor('options.evalue', options)).toBe('opt-evalue');
    expect(errorKeyFor('word_size', options)).toBe('opt-word_size');
  });
  it('sends unknown or missing fields to the form-level alert', () => {
    expect(errorKeyFor(null, options)).toBeNull();
    expect(errorKeyFor('options.matrix', options)).toBeNull();
    expect(errorKeyFor('options', options)).toBeNull();
  });
  it('keeps the error code', () => {
    const err = new ApiError(400, { error_code: 'invalid_residues', message: 'bad', field: 'query' });
    expect(fieldErrorFrom(err, [])).toEqual({ key: 'query', code: 'invalid_residues', message: 'bad' });
  });
});
