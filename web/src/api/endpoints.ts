// One function per API route the UI uses; no caching here (that's TanStack Query's job).
import { apiJson, apiText, qs } from './client';
import type {
  AlignmentPage,
  AlignmentParams,
  Cluster,
  ClusterCreate,
  ClusterList,
  ClusterRemoved,
  EngineInfo,
  PauseState,
  DatabaseList,
  DatabaseRemoved,
  HitPage,
  HitParams,
  HspPage,
  HspParams,
  Job,
  JobCreate,
  JobEventList,
  JobListParams,
  JobPage,
  Limits,
  ProgramList,
  ProgramOptions,
  QueryList,
  SessionInfo,
  TaxonSearch,
  TaxonomyParams,
  TaxonomyReport,
} from './types';

const job = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

export const api = {
  session: () => apiJson<SessionInfo>('/api/session'),
  signIn: (token: string) =>
    apiJson<SessionInfo>('/api/session', { method: 'POST', body: { token }, quiet401: true }),
  signOut: () => apiJson<void>('/api/session', { method: 'DELETE' }),

  programs: () => apiJson<ProgramList>('/api/programs').then((r) => r.items),
  databases: () => apiJson<DatabaseList>('/api/databases').then((r) => r.items),
  /** Delete a database (its owner or an admin); refused with database_in_use while a job uses it. */
  removeDatabase: (name: string) =>
    apiJson<DatabaseRemoved>(`/api/databases/${name.split('/').map(encodeURIComponent).join('/')}`, { method: 'DELETE' }),
  clusters: () => apiJson<ClusterList>('/api/clusters').then((r) => r.items),
  clustersStreamUrl: () => '/api/clusters/stream',
  engines: () => apiJson<{ items: EngineInfo[] }>('/api/clusters/engines').then((r) => r.items),
  /** Admins: add a cluster (validated like `cluster add`; errors name the field). */
  addCluster: (body: ClusterCreate) => apiJson<Cluster>('/api/clusters', { method: 'POST', body }),
  removeCluster: (name: string) => apiJson<ClusterRemoved>(`/api/clusters/${encodeURIComponent(name)}`, { method: 'DELETE' }),
  /** Admins: pause (or resume) a whole cluster (`namespace` null) or one namespace. */
  pauseCluster: (name: string, namespace: string | null, resume = false) =>
    apiJson<PauseState>(`/api/clusters/${encodeURIComponent(name)}/${resume ? 'resume' : 'pause'}`, {
      method: 'POST',
      body: { namespace },
    }),
  limits: () => apiJson<Limits>('/api/limits'),
  options: (program: string) => apiJson<ProgramOptions>(`/api/options${qs({ program })}`).then((r) => r.options),

  /** Taxa whose name starts with `q`, best first (the organism field's autocomplete). */
  taxonomySearch: (q: string, limit = 8) => apiJson<TaxonSearch>(`/api/taxonomy/search${qs({ q, limit })}`).then((r) => r.items),

  submit: (body: JobCreate) => apiJson<Job>('/api/jobs', { method: 'POST', body }),
  jobs: (p: JobListParams) => apiJson<JobPage>(`/api/jobs${qs(p)}`),
  job: (id: string) => apiJson<Job>(job(id)),
  jobQuery: (id: string) => apiText(`${job(id)}/query`),
  jobConfig: (id: string) => apiText(`${job(id)}/config`),
  events: (id: string, after: number) => apiJson<JobEventList>(`${job(id)}/events${qs({ after })}`),
  cancel: (id: string) => apiJson<Job>(`${job(id)}/cancel`, { method: 'POST' }),
  remove: (id: string) => apiJson<void>(job(id), { method: 'DELETE' }),

  /** Hits: one row per query and subject. */
  hits: (id: string, p: HitParams) => apiJson<HitPage>(`${job(id)}/hits${qs(p)}`),
  /** HSPs: BLAST's tabular rows. */
  hsps: (id: string, p: HspParams) => apiJson<HspPage>(`${job(id)}/hsps${qs(p)}`),
  queries: (id: string) => apiJson<QueryList>(`${job(id)}/queries`).then((r) => r.items),
  alignments: (id: string, p: AlignmentParams) => apiJson<AlignmentPage>(`${job(id)}/alignments${qs(p)}`),

  /** The hits by organism (the taxonomy report); the TSV download of its organism table. */
  taxonomy: (id: string, p: TaxonomyParams) => apiJson<TaxonomyReport>(`${job(id)}/taxonomy${qs(p)}`),
  taxonomyTsvUrl: (id: string, p: TaxonomyParams) => `${job(id)}/taxonomy${qs({ ...p, format: 'tsv' })}`,

  streamUrl: (id: string) => `${job(id)}/stream`,
  downloadUrl: (id: string, format: string) => `${job(id)}/download${qs({ format })}`,
};
