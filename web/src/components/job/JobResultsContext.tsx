// Where the result tabs read the job from: the owner's /api/jobs/<id> routes, or a share link's
// /api/shared/<token> ones. The job page and the shared page each provide one; the tabs are the
// same components either way.
import { createContext, useContext, type ReactNode } from 'react';
import type { ResultsApi } from '../../api/results';

export interface JobResults {
  results: ResultsApi;
  /** Read through a share link: nothing but reading is offered. */
  shared: boolean;
}

const JobResultsContext = createContext<JobResults | null>(null);

export function JobResultsProvider({ value, children }: { value: JobResults; children: ReactNode }) {
  return <JobResultsContext.Provider value={value}>{children}</JobResultsContext.Provider>;
}

export function useJobResults(): JobResults {
  const value = useContext(JobResultsContext);
  if (!value) throw new Error('a result tab outside JobResultsProvider');
  return value;
}
