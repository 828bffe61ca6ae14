// A job's result routes under one base: `/api/jobs/<id>` for the owner (signed in), or
// `/api/shared/<token>` for a share link's holder. The server mounts the very same endpoints
// under both, so every result tab reads through this one object and never names which.
import { apiJson, qs } from './client';
import type {
  AlignmentPage,
  AlignmentParams,
  HitPage,
  HitParams,
  HspPage,
  HspParams,
  QueryList,
  TaxonomyParams,
  TaxonomyReport,
} from './types';

/** `region` of the FASTA download: whole subjects, or each HSP's aligned region. */
export type FastaRegion = 'full' | 'hsp';

/** What a FASTA download names: every hit (neither), one query's hits, some subjects, or both. */
export interface FastaRequest {
  region: FastaRegion;
  subjects?: readonly string[];
  queryIndex?: number | null;
}

/** The server's bound on `subjects=` (characters, commas included): the rest must go by query or job. */
export const MAX_SUBJECTS_CHARS = 4000;

export const ownedBase = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;
export const sharedBase = (token: string) => `/api/shared/${encodeURIComponent(token)}`;

/** The `download?format=fasta` address of `request` under `base`. */
export function fastaUrl(base: string, request: FastaRequest): string {
  const subjects = request.subjects?.length ? request.subjects.join(',') : undefined;
  return `${base}/download${qs({ format: 'fasta', region: request.region, subjects, query_index: request.queryIndex ?? undefined })}`;
}

export interface ResultsApi {
  /** The routes' prefix; also what tells the caches of two sources apart. */
  base: string;
  hits: (p: HitParams) => Promise<HitPage>;
  hsps: (p: HspParams) => Promise<HspPage>;
  queries: () => Promise<QueryList['items']>;
  alignments: (p: AlignmentParams) => Promise<AlignmentPage>;
  taxonomy: (p: TaxonomyParams) => Promise<TaxonomyReport>;
  taxonomyTsvUrl: (p: TaxonomyParams) => string;
  downloadUrl: (format: string, columns?: string) => string;
  fastaUrl: (request: FastaRequest) => string;
}

/** `onError` sees every failed read first (the shared page: a link revoked while open). */
export function resultsApi(base: string, onError?: (error: unknown) => void): ResultsApi {
  const read = <T>(path: string): Promise<T> =>
    apiJson<T>(`${base}${path}`).catch((error: unknown) => {
      onError?.(error);
      throw error;
    });
  return {
    base,
    hits: (p) => read<HitPage>(`/hits${qs(p)}`),
    hsps: (p) => read<HspPage>(`/hsps${qs(p)}`),
    queries: () => read<QueryList>('/queries').then((r) => r.items),
    alignments: (p) => read<AlignmentPage>(`/alignments${qs(p)}`),
    taxonomy: (p) => read<TaxonomyReport>(`/taxonomy${qs(p)}`),
    taxonomyTsvUrl: (p) => `${base}/taxonomy${qs({ ...p, format: 'tsv' })}`,
    downloadUrl: (format, columns) => `${base}/download${qs({ format, columns })}`,
    fastaUrl: (request) => fastaUrl(base, request),
  };
}
