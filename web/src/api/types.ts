// Shapes of the BlastDeck JSON API: names over the types generated from its OpenAPI document
// (schema.ts, `make api-types`), so the page cannot drift from what the server answers.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

/** The query-string parameters of a GET route, as the server's document declares them. */
type QueryParams<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type Molecule = Schemas['Molecule'];
export type ProgramName = Schemas['Program'];
export type JobStatus = Schemas['JobStatus'];
export type JobPhase = Schemas['Phase'];
export type StepKey = Schemas['Step'];
export type StepStatus = Schemas['StepStatus'];
export type ErrorCode = Schemas['ErrorCode'];

export type Job = Schemas['Job'];
export type JobPage = Schemas['JobPage'];
export type JobStep = Schemas['JobStep'];
export type WaitingFor = Schemas['WaitingFor'];
export type JobEvent = Schemas['JobEvent'];
export type JobEventList = Schemas['JobEventList'];
export type JobCreate = Schemas['JobCreate'];
/** A job's notifications of its end (webhook, e-mail) and how each went. */
export type NotificationDelivery = Schemas['NotificationDelivery'];
export type NotificationDeliveryList = Schemas['NotificationDeliveryList'];
export type NotificationTarget = Schemas['NotificationTarget'];
export type OptionValue = Job['options'][string];
export type JobListParams = QueryParams<'/api/jobs'>;

/** One query's hit on one subject (NCBI's descriptions table): its HSPs summed up. */
export type Hit = Schemas['Hit'];
export type HitPage = Schemas['HitPage'];
export type HitParams = QueryParams<'/api/jobs/{job_id}/hits'>;
export type HitSort = NonNullable<HitParams['sort']>;
/** One HSP: BLAST's tabular columns. */
export type Hsp = Schemas['Hsp'];
export type HspPage = Schemas['HspPage'];
export type HspParams = QueryParams<'/api/jobs/{job_id}/hsps'>;
export type HspSort = NonNullable<HspParams['sort']>;
export type SortOrder = NonNullable<HitParams['order']>;
export type QuerySummary = Schemas['QuerySummary'];
export type QueryList = Schemas['QueryList'];
export type Alignment = Schemas['Alignment'];
export type AlignmentPage = Schemas['AlignmentPage'];
export type AlignmentParams = QueryParams<'/api/jobs/{job_id}/alignments'>;
/** A job's hits by organism: the lineage tree and the organism table. */
export type TaxonomyReport = Schemas['TaxonomyReport'];
export type TaxonomyNode = Schemas['TaxonomyNode'];
export type TaxonomyOrganism = Schemas['TaxonomyOrganism'];
export type TaxonomyParams = QueryParams<'/api/jobs/{job_id}/taxonomy'>;
export type Rank = NonNullable<TaxonomyParams['rank']>;

export type Database = Schemas['Database'];
export type UploadProgress = Schemas['UploadProgress'];
export type DatabaseList = Schemas['DatabaseList'];
export type DatabaseRemoved = Schemas['DatabaseRemoved'];
export type DatabaseRegister = Schemas['DatabaseRegister'];
export type DatabaseUpdate = Schemas['DatabaseUpdate'];
export type StagedCopy = Schemas['StagedCopy'];
export type Cluster = Schemas['Cluster'];
export type ClusterList = Schemas['ClusterList'];
export type ClusterCreate = Schemas['ClusterCreate'];
export type ClusterUpdate = Schemas['ClusterUpdate'];
export type SubmitSlot = Schemas['SubmitSlot'];
export type SlotJob = Schemas['SlotJob'];
export type ClusterPause = Schemas['ClusterPause'];
export type PauseState = Schemas['PauseState'];
export type ClusterRemoved = Schemas['ClusterRemoved'];
export type EngineInfo = Schemas['EngineInfo'];
export type OptionSpec = Schemas['OptionSpec'];
export type OptionKind = Schemas['OptionKind'];
export type ProgramOptions = Schemas['ProgramOptions'];
export type ProgramInfo = Schemas['ProgramInfo'];
export type ProgramList = Schemas['ProgramList'];
export type Limits = Schemas['Limits'];
export type TaxonSearch = Schemas['SearchResult'];
export type TaxonMatch = Schemas['SearchItem'];
export type SessionInfo = Schemas['Session'];
export type ErrorBody = Schemas['ErrorBody'];
export type User = Schemas['User'];
export type UserCreate = Schemas['UserCreate'];
export type UserUpdate = Schemas['UserUpdate'];
export type UserRemoved = Schemas['UserRemoved'];
export type Token = Schemas['Token'];
export type TokenCreated = Schemas['TokenCreated'];
export type AuditEvent = Schemas['AuditEvent'];
export type AuditList = Schemas['AuditList'];

/** Usage over a period (GET /api/usage). */
export type UsageReport = Schemas['UsageReport'];
export type UsageDay = Schemas['UsageDay'];
export type UsageShare = Schemas['UsageShare'];
export type UsageTimings = Schemas['UsageTimings'];
export type Quantiles = Schemas['Quantiles'];

/** Share links: what the owner makes and lists; what a link's holder reads. */
export type Share = Schemas['Share'];
export type ShareCreate = Schemas['ShareCreate'];
export type ShareCreated = Schemas['ShareCreated'];
export type ShareList = Schemas['ShareList'];
export type SharedJob = Schemas['SharedJob'];
