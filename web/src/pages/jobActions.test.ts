import { describe, expect, it } from 'vitest';
import { cancelQuestion, deleteQuestion } from './jobActions';

describe('job action questions', () => {
  it('name the job by its short id and title', () => {
    const job = { id: '968aa1c8-7afe-49be-9f6a-000000000000', title: '50 queries: 16S rRNA' };
    expect(cancelQuestion(job)).toBe('Cancel job 968aa1c8 (50 queries: 16S rRNA)? BLAST stops, and the job cannot be resumed.');
    expect(deleteQuestion({ ...job, title: null })).toBe('Delete job 968aa1c8 and its results?');
  });
});
