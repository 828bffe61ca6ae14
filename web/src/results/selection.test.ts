import { describe, expect, it } from 'vitest';
import { fastaUrl, MAX_SUBJECTS_CHARS, ownedBase, sharedBase } from '../api/results';
import { EMPTY_SELECTION, isPicked, pageState, selectionDownload, toggleHit, togglePage, type Picked } from './selection';

const hit = (query_index: number, subject_id: string): Picked => ({ query_index, subject_id });
const page = [hit(0, 'A.1'), hit(0, 'B.1'), hit(1, 'A.1')];

describe('ticking hits', () => {
  it('toggles one hit, told apart by query and subject', () => {
    const one = toggleHit(EMPTY_SELECTION, hit(0, 'A.1'));
    expect(isPicked(one, hit(0, 'A.1'))).toBe(true);
    expect(isPicked(one, hit(1, 'A.1'))).toBe(false); // the same subject under another query
    expect(isPicked(toggleHit(one, hit(0, 'A.1')), hit(0, 'A.1'))).toBe(false);
    expect(EMPTY_SELECTION.size).toBe(0); // never changed in place
  });

  it('says whether a page is ticked in full, in part or not at all', () => {
    expect(pageState(EMPTY_SELECTION, page)).toBe('none');
    expect(pageState(toggleHit(EMPTY_SELECTION, page[1]!), page)).toBe('some');
    expect(pageState(togglePage(EMPTY_SELECTION, page), page)).toBe('all');
    expect(pageState(EMPTY_SELECTION, [])).toBe('none');
  });

  it('ticks a whole page, and unticks it when all of it was ticked, keeping other pages', () => {
    const other = toggleHit(EMPTY_SELECTION, hit(5, 'Z.9'));
    const partly = toggleHit(other, page[0]!);
    const all = togglePage(partly, page);
    expect(all.size).toBe(4);
    const none = togglePage(all, page);
    expect([...none.values()]).toEqual([hit(5, 'Z.9')]);
  });
});

describe('the FASTA download of the ticked hits', () => {
  it('names nothing when nothing is ticked', () => {
    expect(selectionDownload(EMPTY_SELECTION, 'full')).toEqual({ request: null, subjects: 0, queries: [], tooMany: false });
  });

  it("keeps one query's hits with that query, each subject once, in ticking order", () => {
    const picked = togglePage(EMPTY_SELECTION, [hit(2, 'B.1'), hit(2, 'A.1')]);
    const d = selectionDownload(picked, 'hsp');
    expect(d.request).toEqual({ region: 'hsp', subjects: ['B.1', 'A.1'], queryIndex: 2 });
    expect(fastaUrl('/api/jobs/j', d.request!)).toBe('/api/jobs/j/download?format=fasta&region=hsp&subjects=B.1%2CA.1&query_index=2');
  });

  it('names only the subjects when the hits are of several queries', () => {
    const d = selectionDownload(togglePage(EMPTY_SELECTION, page), 'full');
    expect(d.request).toEqual({ region: 'full', subjects: ['A.1', 'B.1'], queryIndex: null });
    expect(d.queries).toEqual([0, 1]);
    expect(fastaUrl('/api/jobs/j', d.request!)).toBe('/api/jobs/j/download?format=fasta&region=full&subjects=A.1%2CB.1');
  });

  it('refuses a list of ids longer than the server takes, and takes one just within it', () => {
    const id = (n: number) => `NR_${String(n).padStart(6, '0')}.1`; // 11 characters
    const fits = Math.floor((MAX_SUBJECTS_CHARS + 1) / 12);
    const many = Array.from({ length: fits }, (_, n) => hit(0, id(n)));
    const within = selectionDownload(togglePage(EMPTY_SELECTION, many), 'full');
    expect(within.tooMany).toBe(false);
    expect(within.request!.subjects!.join(',').length).toBeLessThanOrEqual(MAX_SUBJECTS_CHARS);
    const over = selectionDownload(toggleHit(togglePage(EMPTY_SELECTION, many), hit(0, id(fits))), 'full');
    expect(over).toMatchObject({ request: null, tooMany: true, subjects: fits + 1 });
  });
});

describe('result addresses', () => {
  it('puts the owner and the link holder under their own base', () => {
    expect(ownedBase('a/b')).toBe('/api/jobs/a%2Fb');
    expect(sharedBase('tok-_9')).toBe('/api/shared/tok-_9');
    expect(fastaUrl(sharedBase('t'), { region: 'full' })).toBe('/api/shared/t/download?format=fasta&region=full');
    expect(fastaUrl(ownedBase('j'), { region: 'hsp', queryIndex: 0 })).toBe('/api/jobs/j/download?format=fasta&region=hsp&query_index=0');
  });
});
