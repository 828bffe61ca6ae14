// Benchmark hook: when did the job page first render each phase of the job?
import { useEffect, useRef } from 'react';
import type { JobPhase } from '../api/types';

export interface PhaseMark {
  phase: JobPhase;
  at: number; // epoch ms (performance.timeOrigin + performance.now()), sub-millisecond
  job: string;
}

declare global {
  interface Window {
    __blastdeckPhaseLog?: PhaseMark[];
  }
}

/** On each change of the rendered phase: <body data-phase> and window.__blastdeckPhaseLog. */
export function usePhaseLog(jobId: string, phase: JobPhase | undefined): void {
  const shown = useRef<JobPhase | undefined>(undefined);

  useEffect(() => {
    if (!phase || phase === shown.current) return;
    shown.current = phase;
    document.body.dataset.phase = phase;
    (window.__blastdeckPhaseLog ??= []).push({ phase, at: performance.timeOrigin + performance.now(), job: jobId });
  }, [jobId, phase]);

  // Leaving the job page: the body no longer shows a job's phase.
  useEffect(
    () => () => {
      delete document.body.dataset.phase;
    },
    [],
  );
}
