// The search form's Notifications section: what it sends as the job's `notify` targets.

export interface NotifyInput {
  webhookUrl: string;
  secret: string;
  slack: boolean;
  email: string;
}

export const EMPTY_NOTIFY: NotifyInput = { webhookUrl: '', secret: '', slack: false, email: '' };

/** The targets to submit, or undefined when the section is empty (the user's defaults apply). */
export function notifyTargets(input: NotifyInput): Record<string, unknown>[] | undefined {
  const targets: Record<string, unknown>[] = [];
  const url = input.webhookUrl.trim();
  if (url) {
    const hook: Record<string, unknown> = { type: 'webhook', url };
    if (input.secret) hook.secret = input.secret;
    if (input.slack) hook.format = 'slack';
    targets.push(hook);
  }
  const to = input.email.trim();
  if (to) targets.push({ type: 'email', to });
  return targets.length ? targets : undefined;
}
