// One function per API route the UI uses; no caching here (that's TanStack Query's job).
import { apiJson, apiText, qs } from './client';
import { ownedBase, sharedBase } from './results';
import type {
  AuditList,
  Cluster,
  ClusterCreate,
  ClusterUpdate,
  ClusterList,
  ClusterRemoved,
  EngineInfo,
  PauseState,
  Database,
  DatabaseList,
  DatabaseRegister,
  DatabaseRemoved,
  DatabaseUpdate,
  UploadProgress,
  Job,
  JobCreate,
  JobEventList,
  JobListParams,
  JobPage,
  Limits,
  NotificationDeliveryList,
  ProgramList,
  ProgramOptions,
  SessionInfo,
  Share,
  ShareCreate,
  ShareCreated,
  ShareList,
  SharedJob,
  TaxonSearch,
  Token,
  TokenCreated,
  UsageReport,
  User,
  UserCreate,
  UserRemoved,
  UserUpdate,
} from './types';

const job = ownedBase;

export const api = {
  session: () => apiJson<SessionInfo>('/api/session'),
  signIn: (token: string) =>
    apiJson<SessionInfo>('/api/session', { method: 'POST', body: { token }, quiet401: true }),
  signOut: () => apiJson<void>('/api/session', { method: 'DELETE' }),

  programs: () => apiJson<ProgramList>('/api/programs').then((r) => r.items),
  databases: () => apiJson<DatabaseList>('/api/databases').then((r) => r.items),
  /** Delete a database (its owner or an admin); refused with database_in_use while a job uses it. */
  removeDatabase: (name: string) => apiJson<DatabaseRemoved>(databasePath(name), { method: 'DELETE' }),
  /** Register an existing BLAST+ database by its path prefix on the server (admins). */
  registerDatabase: (body: DatabaseRegister) => apiJson<Database>('/api/databases', { method: 'POST', body }),
  /** Change who may search a database (its owner or an admin); the answer names it anew. */
  updateDatabase: (name: string, body: DatabaseUpdate) =>
    apiJson<Database>(databasePath(name), { method: 'PATCH', body }),
  /** How far this API process has got building an upload sent with X-Upload-Id (404 once
   * unknown, expired, or built by another API process). */
  uploadProgress: (uploadId: string) =>
    apiJson<UploadProgress>(`/api/databases/uploads/${encodeURIComponent(uploadId)}`),
  clusters: () => apiJson<ClusterList>('/api/clusters').then((r) => r.items),

  /** Users (admins), tokens (your own; admins anyone's), the audit log (admins). */
  users: () => apiJson<{ items: User[] }>('/api/users').then((r) => r.items),
  addUser: (body: UserCreate) => apiJson<User>('/api/users', { method: 'POST', body }),
  updateUser: (name: string, body: UserUpdate) =>
    apiJson<User>(`/api/users/${encodeURIComponent(name)}`, { method: 'PATCH', body }),
  removeUser: (name: string, force: boolean) =>
    apiJson<UserRemoved>(`/api/users/${encodeURIComponent(name)}${qs({ force: force ? 'true' : undefined })}`, {
      method: 'DELETE',
    }),
  tokens: () => apiJson<{ items: Token[] }>('/api/tokens').then((r) => r.items),
  createToken: (user?: string) => apiJson<TokenCreated>('/api/tokens', { method: 'POST', body: user ? { user } : {} }),
  revokeToken: (id: string) => apiJson<Token>(`/api/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  audit: (limit = 100) => apiJson<AuditList>(`/api/audit${qs({ limit })}`),

  /** Jobs, CPU-hours and waits over a period (whole UTC days; the server's default: 30 days). */
  usage: (from?: string, to?: string) => apiJson<UsageReport>(`/api/usage${qs({ from, to })}`),
  clustersStreamUrl: () => '/api/clusters/stream',
  engines: () => apiJson<{ items: EngineInfo[] }>('/api/clusters/engines').then((r) => r.items),
  /** Admins: add a cluster (validated like `cluster add`; errors name the field). */
  addCluster: (body: ClusterCreate) => apiJson<Cluster>('/api/clusters', { method: 'POST', body }),
  /** Admins: edit a cluster added at run time (only the fields given change). */
  updateCluster: (name: string, body: ClusterUpdate) =>
    apiJson<Cluster>(`/api/clusters/${encodeURIComponent(name)}`, { method: 'PATCH', body }),
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
  /** The job's notifications of its end and how each went. */
  notifications: (id: string) => apiJson<NotificationDeliveryList>(`${job(id)}/notifications`).then((r) => r.items),

  /** The job's share links (its owner): make one, list them (never their tokens), revoke one. */
  createShare: (id: string, body: ShareCreate) => apiJson<ShareCreated>(`${job(id)}/shares`, { method: 'POST', body }),
  shares: (id: string) => apiJson<ShareList>(`${job(id)}/shares`).then((r) => r.items),
  revokeShare: (id: string, shareId: string) =>
    apiJson<Share>(`${job(id)}/shares/${encodeURIComponent(shareId)}`, { method: 'DELETE' }),
  /** The job a share link opens, read without signing in. */
  sharedJob: (token: string) => apiJson<SharedJob>(sharedBase(token)),

  streamUrl: (id: string) => `${job(id)}/stream`,
};

/** A database's route: its qualified name (`alice/x`, `@lab/x`) keeps its slash. */
function databasePath(name: string): string {
  return `/api/databases/${name.split('/').map(encodeURIComponent).join('/')}`;
}
