// The search form's Notifications section: a webhook and/or an e-mail told when the job ends.
import type { NotifyInput } from '../../search/notify';

export function NotifyFields({ value, onChange }: { value: NotifyInput; onChange: (next: NotifyInput) => void }) {
  const set = (patch: Partial<NotifyInput>) => onChange({ ...value, ...patch });
  return (
    <details className="advanced" data-testid="notify-section">
      <summary>Notifications (when the job ends; empty: your defaults)</summary>
      <div className="grid-3">
        <div className="field">
          <label className="label" htmlFor="notify-webhook">
            Webhook URL
          </label>
          <input
            id="notify-webhook"
            type="url"
            value={value.webhookUrl}
            placeholder="https://hooks.example.org/blast"
            onChange={(e) => set({ webhookUrl: e.target.value })}
            data-testid="notify-webhook"
          />
          <label className="small">
            <input type="checkbox" checked={value.slack} onChange={(e) => set({ slack: e.target.checked })} data-testid="notify-slack" /> Slack
            format
          </label>
        </div>
        <div className="field">
          <label className="label" htmlFor="notify-secret">
            Webhook secret (signs the body)
          </label>
          <input
            id="notify-secret"
            type="password"
            autoComplete="off"
            value={value.secret}
            onChange={(e) => set({ secret: e.target.value })}
            data-testid="notify-secret"
          />
        </div>
        <div className="field">
          <label className="label" htmlFor="notify-email">
            E-mail
          </label>
          <input
            id="notify-email"
            type="email"
            value={value.email}
            placeholder="name@example.org"
            onChange={(e) => set({ email: e.target.value })}
            data-testid="notify-email"
          />
        </div>
      </div>
    </details>
  );
}
