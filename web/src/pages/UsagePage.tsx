// Usage over a chosen period (whole UTC days): jobs per day by status, jobs and BLAST
// CPU-hours per user, cluster and database, and the median / 95th percentile of the queue
// wait, submit-slot wait and run time per cluster and namespace. One request, GET /api/usage,
// computed by the server's database; charts (Chart.js) and the same numbers in tables.
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { api } from '../api/endpoints';
import type { UsageReport, UsageShare } from '../api/types';
import { ErrorNote } from '../components/ErrorNote';
import { BarChart, type BarSeries } from '../components/usage/BarChart';
import { formatCount } from '../format/text';
import { STATUS_SERIES, dayLabel, formatHours, formatQuantiles, periodStart, utcToday } from '../format/usage';

const PRESETS = [7, 30, 90, 365];

interface Period {
  from: string;
  to: string;
}

export function UsagePage() {
  const today = utcToday(Date.now());
  const [period, setPeriod] = useState<Period>({ from: periodStart(today, 30), to: today });
  const usage = useQuery({
    queryKey: ['usage', period.from, period.to],
    queryFn: () => api.usage(period.from, period.to),
  });
  return (
    <div className="stack">
      <h1>Usage</h1>
      <PeriodPicker period={period} today={today} onChange={setPeriod} />
      {usage.error && <ErrorNote error={usage.error} testId="usage-error" />}
      {usage.isPending && <p className="muted">Loading…</p>}
      {usage.data && <Report report={usage.data} />}
    </div>
  );
}

function PeriodPicker({ period, today, onChange }: { period: Period; today: string; onChange: (p: Period) => void }) {
  const [from, setFrom] = useState(period.from);
  const [to, setTo] = useState(period.to);
  const pick = (p: Period) => {
    setFrom(p.from);
    setTo(p.to);
    onChange(p);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange({ from, to });
  };
  return (
    <form className="card row usage-period" onSubmit={submit} data-testid="usage-period">
      {PRESETS.map((days) => (
        <button
          key={days}
          type="button"
          className="btn btn-small"
          data-testid={`usage-last-${days}`}
          onClick={() => pick({ from: periodStart(today, days), to: today })}
        >
          Last {days} days
        </button>
      ))}
      <label>
        From <input type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} data-testid="usage-from" />
      </label>
      <label>
        To <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="usage-to" />
      </label>
      <button type="submit" className="btn btn-small" data-testid="usage-apply">
        Show
      </button>
    </form>
  );
}

function Report({ report }: { report: UsageReport }) {
  const days = useMemo(() => report.days.map((d) => dayLabel(d.day)), [report]);
  const byStatus: BarSeries[] = useMemo(
    () => STATUS_SERIES.map((s) => ({ label: s.label, color: s.color, values: report.days.map((d) => d[s.key]) })),
    [report],
  );
  return (
    <>
      <section className="card stack" data-testid="usage-summary">
        <p>
          {report.start} to {report.end} (UTC): <strong data-testid="usage-jobs">{formatCount(report.jobs)}</strong> jobs,{' '}
          <strong data-testid="usage-cpu">{formatHours(report.cpu_hours)}</strong> CPU-hours.{' '}
          <span className="muted" data-testid="usage-scope">
            {report.scope === 'all' ? 'Everyone’s jobs.' : 'Your jobs only.'}
          </span>
        </p>
      </section>
      {report.jobs === 0 ? (
        <p className="card muted" data-testid="usage-empty">
          No jobs were submitted in this period.
        </p>
      ) : (
        <>
          <section className="card stack">
            <h2>Jobs per day</h2>
            <BarChart labels={days} series={byStatus} stacked counts testId="usage-days-chart" ariaLabel="Jobs per day by status" />
          </section>
          <Shares title="Per user" rows={report.by_user} testId="usage-users" empty="(no owner: auth off)" />
          <Shares title="Per cluster" rows={report.by_cluster} testId="usage-clusters" />
          <Shares title="Per database" rows={report.by_database} testId="usage-databases" note="A job of several databases counts under its first." />
          <Timings report={report} />
        </>
      )}
    </>
  );
}

interface SharesProps {
  title: string;
  rows: UsageShare[];
  testId: string;
  empty?: string;
  note?: string;
}

function Shares({ title, rows, testId, empty = '—', note }: SharesProps) {
  const labels = useMemo(() => rows.map((r) => r.name ?? empty), [rows, empty]);
  const series = useMemo(() => [{ label: 'CPU-hours', color: '#1565c0', values: rows.map((r) => r.cpu_hours) }], [rows]);
  return (
    <section className="card stack" data-testid={testId}>
      <h2>{title}</h2>
      {note && <p className="muted">{note}</p>}
      <BarChart labels={labels} series={series} horizontal testId={`${testId}-chart`} ariaLabel={`CPU-hours ${title.toLowerCase()}`} height={Math.max(120, 28 * rows.length + 40)} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th className="num">Jobs</th>
            <th className="num">CPU-hours</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.user_id ?? r.name ?? ''} data-testid={`${testId}-row`} data-name={r.name ?? ''}>
              <td>{r.name ?? empty}</td>
              <td className="num">{formatCount(r.jobs)}</td>
              <td className="num">{formatHours(r.cpu_hours)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Timings({ report }: { report: UsageReport }) {
  return (
    <section className="card stack" data-testid="usage-timings">
      <h2>Waits and run times</h2>
      <p className="muted">Median / 95th percentile per cluster and namespace.</p>
      <table className="table">
        <thead>
          <tr>
            <th>Cluster</th>
            <th>Namespace</th>
            <th className="num">Jobs</th>
            <th>Queue wait</th>
            <th>Submit-slot wait</th>
            <th>Run time</th>
          </tr>
        </thead>
        <tbody>
          {report.timings.map((t) => (
            <tr key={`${t.cluster}/${t.namespace}`} data-testid="usage-timings-row" data-cluster={t.cluster} data-namespace={t.namespace}>
              <td>{t.cluster}</td>
              <td>{t.namespace}</td>
              <td className="num">{formatCount(t.jobs)}</td>
              <td>{formatQuantiles(t.queue_wait)}</td>
              <td>{formatQuantiles(t.submit_wait)}</td>
              <td>{formatQuantiles(t.run)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
