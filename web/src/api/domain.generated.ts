// Generated from blastdeck/domain (pipeline_model.py, programs.py) by
// `python -m blastdeck.api.export_domain`; `make api-types` rewrites it. Do not edit.
import type { components } from './schema';

type Schemas = components['schemas'];

/** The pipeline's steps, in order. */
export const STEPS: readonly Schemas['Step'][] = ["preparing", "warming_up", "configuring", "staging_db", "submitting", "running", "exporting_results", "completed"];

/** What the page shows for each step. */
export const STEP_LABELS: Readonly<Record<Schemas['Step'], string>> = {
  preparing: "Prepare",
  warming_up: "Warmup Check",
  configuring: "Configure",
  staging_db: "Stage DB",
  submitting: "Submit",
  running: "BLAST Run",
  exporting_results: "Export",
  completed: "Complete",
};

export const STEP_STATUSES: readonly Schemas['StepStatus'][] = ["pending", "running", "completed", "skipped", "failed", "cancelled"];

export const PHASES: readonly Schemas['Phase'][] = ["queued", "preparing", "warming_up", "configuring", "staging_db", "submitting", "waiting_for_submit_slot", "paused", "running", "exporting_results", "cancelling", "completed", "failed", "cancelled"];

export const JOB_STATUSES: readonly Schemas['JobStatus'][] = ["queued", "running", "completed", "failed", "cancelled"];

/** The coarse status of each phase (what the jobs list filters on). */
export const STATUS_OF_PHASE: Readonly<Record<Schemas['Phase'], Schemas['JobStatus']>> = {
  queued: "queued",
  preparing: "running",
  warming_up: "running",
  configuring: "running",
  staging_db: "running",
  submitting: "running",
  waiting_for_submit_slot: "running",
  paused: "running",
  running: "running",
  exporting_results: "running",
  cancelling: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/** Phases that usually last a second or two: poll fast so each step is seen. */
export const FAST_POLL_PHASES: readonly Schemas['Phase'][] = ["queued", "preparing", "warming_up", "configuring", "staging_db", "submitting", "waiting_for_submit_slot", "paused"];

/** Phases that can last minutes: poll steadily. */
export const STEADY_POLL_PHASES: readonly Schemas['Phase'][] = ["running", "exporting_results", "cancelling"];

/** Nothing changes after these: stop polling. */
export const TERMINAL_PHASES: readonly Schemas['Phase'][] = ["completed", "failed", "cancelled"];

/** Waiting before the submit slot is taken (for the slot, or for a paused cluster). */
export const SUBMIT_WAIT_PHASES: readonly Schemas['Phase'][] = ["waiting_for_submit_slot", "paused"];

export const FAST_POLL_INTERVAL_MS: number = 1000;
export const STEADY_POLL_INTERVAL_MS: number = 3000;

/** Each BLAST program: the molecules of its query and database, and its tasks. */
export const PROGRAMS: readonly Schemas['ProgramInfo'][] = [
  { name: "blastn", query_molecule: "nucl", database_molecule: "nucl", tasks: ["megablast", "dc-megablast", "blastn", "blastn-short"], default_task: "megablast" },
  { name: "blastp", query_molecule: "prot", database_molecule: "prot", tasks: ["blastp", "blastp-fast", "blastp-short"], default_task: "blastp" },
  { name: "blastx", query_molecule: "nucl", database_molecule: "prot", tasks: ["blastx", "blastx-fast"], default_task: "blastx" },
  { name: "tblastn", query_molecule: "prot", database_molecule: "nucl", tasks: ["tblastn", "tblastn-fast"], default_task: "tblastn" },
  { name: "tblastx", query_molecule: "nucl", database_molecule: "nucl", tasks: [], default_task: null },
];
