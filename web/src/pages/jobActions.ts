// What the job page and the jobs list ask before they stop or delete a job. Pure.
import type { Job } from '../api/types';
import { shortId } from '../format/text';

function named(job: Pick<Job, 'id' | 'title'>): string {
  return `job ${shortId(job.id)}${job.title ? ` (${job.title})` : ''}`;
}

export function cancelQuestion(job: Pick<Job, 'id' | 'title'>): string {
  return `Cancel ${named(job)}? BLAST stops, and the job cannot be resumed.`;
}

export function deleteQuestion(job: Pick<Job, 'id' | 'title'>): string {
  return `Delete ${named(job)} and its results?`;
}
