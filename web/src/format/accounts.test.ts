import { describe, expect, it } from 'vitest';
import { describeAudit, parseGroups } from './accounts';

describe('parseGroups', () => {
  it('splits on commas and spaces, drops blanks and repeats', () => {
    expect(parseGroups('lab, b  ,lab')).toEqual(['lab', 'b']);
    expect(parseGroups('')).toEqual([]);
    expect(parseGroups('  ,, ')).toEqual([]);
  });
});

describe('describeAudit', () => {
  const base = { id: 1, at: '2026-11-30T23:00:00+00:00', target: 'alice', details: {} };
  it('names who did what to whom, with the details', () => {
    expect(describeAudit({ ...base, actor: 'root', action: 'user.add', details: { admin: false, groups: ['lab'] } })).toBe(
      'root added user alice (admin: false; groups: lab)',
    );
    expect(describeAudit({ ...base, actor: null, action: 'token.revoke', details: { token_id: 'abc' } })).toBe(
      '(auth off) revoked a token of alice (token_id: abc)',
    );
    expect(describeAudit({ ...base, actor: 'root', action: 'something.new' })).toBe('root something.new alice');
    const moved = { from: 'alice/x', visibility: 'group', group: 'lab', staged_removed: 1 };
    expect(describeAudit({ ...base, actor: 'alice', action: 'database.visibility', target: '@lab/x', details: moved })).toBe(
      'alice changed who may search database @lab/x (from: alice/x; visibility: group; group: lab; staged_removed: 1)',
    );
    expect(describeAudit({ ...base, actor: 'root', action: 'user.update', details: { groups: [] } })).toBe(
      'root changed user alice (groups: none)',
    );
    const edit = { slots: 2, settings: { namespaces: 'a,b' } };
    expect(describeAudit({ ...base, target: 'hpc', actor: 'root', action: 'cluster.update', details: edit })).toBe(
      'root edited cluster hpc (slots: 2; settings: {"namespaces":"a,b"})',
    );
  });
});
