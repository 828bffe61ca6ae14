import { describe, expect, it } from 'vitest';
import { chooseTab, parseTab } from './jobTabs';

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
    expect(chooseTab('hits', 'running')).toBe('run');
    expect(chooseTab('downloads', 'failed')).toBe('run');
  });
  it('ignores unknown tab names', () => {
    expect(parseTab('bogus')).toBeNull();
    expect(parseTab(null)).toBeNull();
    expect(parseTab('alignments')).toBe('alignments');
  });
});
