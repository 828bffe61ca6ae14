// The job's event log, fetched incrementally (?after=<last id>) whenever the job changes.
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/endpoints';
import type { JobEvent } from '../api/types';

export function useEventLog(jobId: string, changeMarker: string | undefined): { events: JobEvent[]; failed: boolean } {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [failed, setFailed] = useState(false);
  const currentJob = useRef(jobId);
  const lastId = useRef(0);
  const inFlight = useRef(false);
  const again = useRef(false);

  // A different job starts a fresh log.
  useEffect(() => {
    currentJob.current = jobId;
    lastId.current = 0;
    setEvents([]);
    return () => {
      currentJob.current = '';
    };
  }, [jobId]);

  useEffect(() => {
    if (changeMarker === undefined) return;
    if (inFlight.current) {
      again.current = true; // a change arrived mid-fetch: fetch once more after it
      return;
    }
    const forJob = jobId;
    inFlight.current = true;
    const run = async () => {
      try {
        do {
          again.current = false;
          const { items } = await api.events(forJob, lastId.current);
          if (currentJob.current !== forJob) return; // left this job meanwhile
          const fresh = items.filter((e) => e.id > lastId.current);
          if (fresh.length) {
            lastId.current = fresh[fresh.length - 1]!.id;
            setEvents((old) => [...old, ...fresh]);
          }
          setFailed(false);
        } while (again.current);
      } catch {
        if (currentJob.current === forJob) setFailed(true);
      } finally {
        inFlight.current = false;
      }
    };
    void run();
  }, [jobId, changeMarker]);

  return { events, failed };
}
