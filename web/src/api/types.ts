// Shapes of the BlastDeck JSON API (see /docs). Only what the UI reads is typed.

export type Molecule = 'nucl' | 'prot';
export type ProgramName = 'blastn' | 'blastp' | 'blastx' | 'tblastn' | 'tblastx';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export type JobPhase =
  | 'queued'
  | 'preparing'
  | 'warming_up'
  | 'configuring'
  | 'staging_db'
  | 'submitting'
  | 'waiting_for_submit_slot'
  | 'running'
  | 'exporting_results'
  | 'cancelling'
  | 'completed'
  | 'failed'
  | 'cancelled';

export type StepKey =
  | 'preparing'
  | 'warming_up'
  | 'configuring'
  | 'staging_db'
  | 'submitting'
  | 'running'
  | 'exporting_results'
  | 'completed';

export type StepStatus = 'pending' | 'running' | 'completed' | 'skipped' | 'failed';

export interface JobStep {
  key: StepKey;
  label: string;
  status: StepStatus;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  skip_reason: string | null;
  error: string | null;
}

export interface WaitingFor {
  cluster: string;
  namespace: string;
  holder_job_id: string | null;
}

export type OptionValue = string | number | boolean;

export interface Job {
  id: string;
  title: string | null;
  program: ProgramName;
  database: string;
  cluster: string;
  namespace: string;
  options: Record<string, OptionValue>;
  status: JobStatus;
  phase: JobPhase;
  error_code: string | null;
  error_category: string | null;
  error: string | null;
  waiting_for: WaitingFor | null;
  steps: JobStep[];
  progress: { batches_done: number; batches_total: number };
  query_count: number;
  query_letters: number;
  hits_total: number;
  poll_after_ms?: number | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface JobEvent {
  id: number;
  at: string;
  kind: string;
  phase: JobPhase | null;
  step: StepKey | null;
  error_code: string | null;
  message: string;
}

export interface Hit {
  query_id: string;
  subject_id: string;
  subject_title: string;
  pident: number;
  length: number;
  mismatch: number;
  gapopen: number;
  qstart: number;
  qend: number;
  sstart: number;
  send: number;
  evalue: number;
  bitscore: number;
  qlen: number;
  slen: number;
  qcovhsp: number;
}

export type HitSort = 'query_id' | 'subject_id' | 'pident' | 'qcovhsp' | 'evalue' | 'bitscore' | 'length';

export interface QuerySummary {
  query_id: string;
  qlen: number;
  hits: number;
}

export interface Alignment {
  query_id: string;
  subject_id: string;
  subject_title: string;
  slen?: number;
  hsp_num: number;
  bitscore: number;
  score: number;
  evalue: number;
  identity: number;
  /** Absent for blastn (nucleotide pairs have no "positives"). */
  positive?: number | null;
  gaps: number;
  align_len: number;
  qstart: number;
  qend: number;
  sstart: number;
  send: number;
  query_strand?: string | null;
  hit_strand?: string | null;
  query_frame?: number | null;
  hit_frame?: number | null;
  qseq: string;
  midline: string;
  hseq: string;
}

export interface Database {
  name: string;
  title: string;
  molecule: Molecule;
  sequences: number;
  letters: number;
}

export interface Cluster {
  name: string;
  engine: string;
  namespace: string;
  namespaces: string[];
}

export type OptionKind = 'int' | 'float' | 'choice' | 'flag' | 'bool' | 'string';

export interface OptionSpec {
  name: string;
  kind: OptionKind | string;
  summary: string;
  default: string | null;
  accepts: string | null;
  minimum: number | null;
  maximum: number | null;
  exclusive_minimum: boolean;
  choices: string[] | null;
  blast_argument: string;
}

export interface ProgramInfo {
  name: ProgramName;
  query_molecule: Molecule;
  database_molecule: Molecule;
  tasks: string[];
  default_task: string | null;
}

export interface Limits {
  max_nucleotide_letters_per_sequence: number;
  max_protein_letters_per_sequence: number;
  max_query_letters_per_job: number;
  max_sequences_per_job: number;
  max_defline_chars: number;
  max_upload_bytes: number;
  max_active_jobs_per_user: number;
  max_queued_jobs_per_user: number;
}

export interface SessionInfo {
  auth_enabled: boolean;
  user: { name: string; admin: boolean } | null;
}

export interface ErrorBody {
  error_code: string;
  message: string;
  field: string | null;
  detail?: unknown;
}

export interface JobCreate {
  program: ProgramName;
  database: string;
  query: string;
  title?: string;
  cluster?: string;
  namespace?: string;
  options?: Record<string, OptionValue>;
}
