import { describe, expect, it } from 'vitest';
import { chooseTab, parseTab, tabAvailable } from './jobTabs';

describe('chooseTab', () => {
  it('uses the tab from the URL', () => {
    expect(chooseTab('graphic', 'completed')).toBe('graphic');
    expect(chooseTab('run', 'completed')).toBe('run');
  });
  it('opens Hits for a completed job and Run otherwise', () => {
    expect(chooseTab(null, 'completed')).toBe('hits');
    expect(chooseTab(null, 'running')).toBe('run');
    expect(chooseTab(null, 'queued')).toBe('run');
    expect(chooseTab(null, 'failed')).toBe('run');
    expect(chooseTab(null, 'cancelled')).toBe('run');
  });
  it('shows Run while result tabs are not available yet', () => {
    expect(chooseTab('hits', 'queued')).toBe('run');
    expect(chooseTab('alignments', 'running')).toBe('run');
    expect(chooseTab('downloads', 'failed')).toBe('run');
  });
  it('opens Hits on a running job (its partial table)', () => {
    expect(chooseTab('hits', 'running')).toBe('hits');
    expect(tabAvailable('hits', 'running')).toBe(true);
    expect(tabAvailable('graphic', 'running')).toBe(false);
    expect(tabAvailable('hits', 'cancelled')).toBe(false);
    expect(tabAvailable('run', 'queued')).toBe(true);
  });
  it('ignores unknown tab names', () => {
    expect(parseTab('bogus')).toBeNull();
    expect(parseTab(null)).toBeNull();
    expect(parseTab('alignments')).toBe('alignments');
  });
});
