import { describe, expect, it } from 'vitest';
import { EMPTY_NOTIFY, notifyTargets } from './notify';

describe('notifyTargets', () => {
  it('sends nothing when empty, so the user defaults apply', () => {
    expect(notifyTargets(EMPTY_NOTIFY)).toBeUndefined();
    expect(notifyTargets({ ...EMPTY_NOTIFY, webhookUrl: '  ', email: ' ' })).toBeUndefined();
  });

  it('builds a signed Slack webhook and an e-mail', () => {
    expect(notifyTargets({ webhookUrl: ' https://h.example.org/x ', secret: 's', slack: true, email: 'a@example.org' })).toEqual([
      { type: 'webhook', url: 'https://h.example.org/x', secret: 's', format: 'slack' },
      { type: 'email', to: 'a@example.org' },
    ]);
  });

  it('leaves out an empty secret and the default format', () => {
    expect(notifyTargets({ ...EMPTY_NOTIFY, webhookUrl: 'https://h.example.org/' })).toEqual([{ type: 'webhook', url: 'https://h.example.org/' }]);
  });
});
