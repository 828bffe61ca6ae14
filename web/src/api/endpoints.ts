// One function per API route the UI uses; no caching here (that's TanStack Query's job).
import { apiJson, apiText, qs } from './client';
import type {
  Alignment,
  Cluster,
  Database,
  Hit,
  HitSort,
  Job,
  JobCreate,
  JobEvent,
  JobStatus,
  Limits,
  OptionSpec,
  Page,
  ProgramInfo,
  QuerySummary,
  SessionInfo,
} from './types';

const job = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

export const api = {
  session: () => apiJson<SessionInfo>('/api/session'),
  signIn: (token: string) =>
    apiJson<SessionInfo>('/api/session', { method: 'POST', body: { token }, quiet401: true }),
  signOut: () => apiJson<void>('/api/session', { method: 'DELETE' }),

  programs: () => apiJson<{ items: ProgramInfo[] }>('/api/programs').then((r) => r.items),
  databases: () => apiJson<{ items: Database[] }>('/api/databases').then((r) => r.items),
  clusters: () => apiJson<{ items: Cluster[] }>('/api/clusters').then((r) => r.items),
  limits: () => apiJson<Limits>('/api/limits'),
  options: (program: string) =>
    apiJson<{ program: string; options: OptionSpec[] }>(`/api/options${qs({ program })}`).then((r) => r.options),

  submit: (body: JobCreate) => apiJson<Job>('/api/jobs', { method: 'POST', body }),
  jobs: (p: { status?: JobStatus | ''; q?: string; limit: number; offset: number }) =>
    apiJson<Page<Job>>(`/api/jobs${qs(p)}`),
  job: (id: string) => apiJson<Job>(job(id)),
  jobQuery: (id: string) => apiText(`${job(id)}/query`),
  jobConfig: (id: string) => apiText(`${job(id)}/config`),
  events: (id: string, after: number) => apiJson<{ items: JobEvent[] }>(`${job(id)}/events${qs({ after })}`),
  cancel: (id: string) => apiJson<Job>(`${job(id)}/cancel`, { method: 'POST' }),
  remove: (id: string) => apiJson<void>(job(id), { method: 'DELETE' }),

  hits: (id: string, p: HitParams) => apiJson<Page<Hit>>(`${job(id)}/hits${qs({ ...p })}`),
  queries: (id: string) => apiJson<{ items: QuerySummary[] }>(`${job(id)}/queries`).then((r) => r.items),
  alignments: (id: string, p: { query_id?: string; limit: number; offset: number }) =>
    apiJson<Page<Alignment>>(`${job(id)}/alignments${qs(p)}`),

  streamUrl: (id: string) => `${job(id)}/stream`,
  downloadUrl: (id: string, format: string) => `${job(id)}/download${qs({ format })}`,
};

export interface HitParams {
  sort?: HitSort;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
  query_id?: string;
  min_pident?: number;
  min_qcovhsp?: number;
  max_evalue?: number;
}
