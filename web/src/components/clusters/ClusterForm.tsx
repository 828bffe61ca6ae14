// Admins: add a cluster. The engine's own settings are its fields (from /api/clusters/engines);
// the server validates like `blastdeck cluster add` and each error shows next to its field.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Cluster, ClusterCreate } from '../../api/types';
import { formFieldOf } from '../../format/clusters';

export function ClusterForm({ onAdded }: { onAdded: (cluster: Cluster) => void }) {
  const engines = useQuery({ queryKey: ['cluster-engines'], queryFn: api.engines, staleTime: Infinity });
  const [name, setName] = useState('');
  const [engine, setEngine] = useState('local');
  const [namespace, setNamespace] = useState('');
  const [slots, setSlots] = useState('');
  const [settings, setSettings] = useState<Record<string, string>>({});
  const add = useMutation({
    mutationFn: api.addCluster,
    onSuccess: (cluster) => {
      setName('');
      setSettings({});
      onAdded(cluster);
    },
  });
  const error = add.error;
  const errorAt = (field: string) =>
    error instanceof ApiError && formFieldOf(error.field) === field ? (
      <span className="field-error" role="alert" data-testid={`cluster-error-${field}`}>
        {error.message} <code className="error-code">{error.code}</code>
      </span>
    ) : null;
  const known = engines.data?.find((e) => e.name === engine)?.settings ?? [];

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const body: ClusterCreate = { name: name.trim(), engine };
    if (namespace.trim()) body.namespace = namespace.trim();
    if (slots.trim()) body.slots = Number(slots);
    const chosen = Object.fromEntries(Object.entries(settings).filter(([k, v]) => known.includes(k) && v.trim() !== ''));
    if (Object.keys(chosen).length) body.settings = chosen;
    add.mutate(body);
  };

  return (
    <form className="card stack" onSubmit={onSubmit} data-testid="cluster-form">
      <h2>Add a cluster</h2>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} data-testid="cluster-name" required />
        {errorAt('name')}
      </label>
      <label>
        Engine{' '}
        <select value={engine} onChange={(e) => setEngine(e.target.value)} data-testid="cluster-engine">
          {(engines.data ?? [{ name: 'local', settings: [] }]).map((e) => (
            <option key={e.name} value={e.name}>
              {e.name}
            </option>
          ))}
        </select>
        {errorAt('engine')}
      </label>
      <label>
        Default namespace{' '}
        <input value={namespace} placeholder="default" onChange={(e) => setNamespace(e.target.value)} data-testid="cluster-namespace" />
        {errorAt('namespace')}
      </label>
      <label>
        Slots{' '}
        <input value={slots} placeholder="all cores" inputMode="numeric" onChange={(e) => setSlots(e.target.value)} data-testid="cluster-slots" />
        {errorAt('slots')}
      </label>
      <fieldset data-testid="cluster-settings">
        <legend>{engine} settings</legend>
        {known.map((key) => (
          <label key={key}>
            {key}{' '}
            <input
              value={settings[key] ?? ''}
              onChange={(e) => setSettings({ ...settings, [key]: e.target.value })}
              data-testid={`cluster-setting-${key}`}
            />
            {errorAt(`settings.${key}`)}
          </label>
        ))}
        {errorAt('settings')}
      </fieldset>
      {errorAt('form')}
      <div>
        <button type="submit" className="btn btn-primary" disabled={add.isPending} data-testid="cluster-add">
          {add.isPending ? 'Adding…' : 'Add cluster'}
        </button>
      </div>
    </form>
  );
}
