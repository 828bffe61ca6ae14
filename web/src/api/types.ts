// Shapes of the BlastDeck JSON API: names over the types generated from its OpenAPI document
// (schema.ts, `make api-types`), so the page cannot drift from what the server answers.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type Molecule = Schemas['Molecule'];
export type ProgramName = Schemas['Program'];
export type JobStatus = Schemas['JobStatus'];
export type JobPhase = Schemas['Phase'];
export type StepKey = Schemas['Step'];
export type StepStatus = Schemas['StepStatus'];
export type ErrorCode = Schemas['ErrorCode'];

export type Job = Schemas['Job'];
export type JobStep = Schemas['JobStep'];
export type WaitingFor = Schemas['WaitingFor'];
export type JobEvent = Schemas['JobEvent'];
export type JobCreate = Schemas['JobCreate'];
export type OptionValue = Job['options'][string];

export type Hit = Schemas['Hit'];
export type QuerySummary = Schemas['QuerySummary'];
export type Alignment = Schemas['Alignment'];
export type HitSort = NonNullable<
  NonNullable<paths['/api/jobs/{job_id}/hits']['get']['parameters']['query']>['sort']
>;

export type Database = Schemas['Database'];
export type Cluster = Schemas['Cluster'];
export type OptionSpec = Schemas['OptionSpec'];
export type OptionKind = Schemas['OptionKind'];
export type ProgramInfo = Schemas['ProgramInfo'];
export type Limits = Schemas['Limits'];
export type SessionInfo = Schemas['Session'];
export type ErrorBody = Schemas['ErrorBody'];

/** One page of a list answer (jobs, hits, alignments). */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
