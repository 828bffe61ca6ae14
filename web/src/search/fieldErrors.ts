// Where a server error belongs on the search form.
import { ApiError } from '../api/client';

export const FORM_FIELDS = ['query', 'database', 'program', 'cluster', 'namespace', 'title'] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** A form error key: a plain field, or `opt-<name>` for a BLAST option. */
export type ErrorKey = FormField | `opt-${string}`;

export interface FieldError {
  key: ErrorKey | null; // null: form-level
  code: string;
  message: string;
}

/** Map the server's `field` ("query", "options.evalue", "evalue", ...) onto the form. */
export function errorKeyFor(field: string | null, optionNames: readonly string[]): ErrorKey | null {
  if (!field) return null;
  if (field === 'databases') return 'database'; // several databases: shown under the database fields
  if ((FORM_FIELDS as readonly string[]).includes(field)) return field as FormField;
  const name = field.startsWith('options.') ? field.slice('options.'.length) : field;
  if (optionNames.includes(name)) return `opt-${name}`;
  if (field === 'options') return null;
  return null;
}

export function fieldErrorFrom(error: unknown, optionNames: readonly string[]): FieldError {
  if (error instanceof ApiError) {
    return { key: errorKeyFor(error.field, optionNames), code: error.code, message: error.message };
  }
  return { key: null, code: 'client_error', message: error instanceof Error ? error.message : String(error) };
}
