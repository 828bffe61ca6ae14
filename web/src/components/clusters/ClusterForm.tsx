// Admins: add a cluster, or edit one (`editing`: prefilled; the name and engine fixed). The
// engine's own settings are its fields (from /api/clusters/engines); the server validates like
// `blastdeck cluster add` / `edit` and each error shows next to its field. A secret setting is
// never shown: its field starts empty and, left empty, keeps the stored value.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Cluster, ClusterCreate, ClusterUpdate } from '../../api/types';
import { editedSettings, formFieldOf, HIDDEN_SETTING } from '../../format/clusters';

interface Props {
  onDone: (cluster: Cluster) => void;
  editing?: Cluster;
  onCancel?: () => void;
}

export function ClusterForm({ onDone, editing, onCancel }: Props) {
  const engines = useQuery({ queryKey: ['cluster-engines'], queryFn: api.engines, staleTime: Infinity });
  const shown = editing ? String(editing.slots) : '';
  const before = Object.fromEntries(
    Object.entries(editing?.settings ?? {}).map(([k, v]) => [k, v === HIDDEN_SETTING ? '' : v]),
  );
  const [name, setName] = useState(editing?.name ?? '');
  const [engine, setEngine] = useState(editing?.engine ?? 'local');
  const [namespace, setNamespace] = useState(editing?.namespace ?? '');
  const [slots, setSlots] = useState(shown);
  const [settings, setSettings] = useState<Record<string, string>>(before);
  const save = useMutation({
    mutationFn: (body: ClusterCreate | ClusterUpdate) =>
      editing ? api.updateCluster(editing.name, body as ClusterUpdate) : api.addCluster(body as ClusterCreate),
    onSuccess: (cluster) => {
      if (!editing) {
        setName('');
        setSettings({});
      }
      onDone(cluster);
    },
  });
  const error = save.error;
  const errorAt = (field: string) =>
    error instanceof ApiError && formFieldOf(error.field) === field ? (
      <span className="field-error" role="alert" data-testid={`cluster-error-${field}`}>
        {error.message} <code className="error-code">{error.code}</code>
      </span>
    ) : null;
  const kind = engines.data?.find((e) => e.name === engine);
  const known = kind?.settings ?? Object.keys(before);
  const isSecret = (key: string) => editing?.settings[key] === HIDDEN_SETTING;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (editing) {
      // Only what changed: an unchanged slot count stays "all cores" when it was.
      const body: ClusterUpdate = {};
      if (namespace.trim() !== editing.namespace) body.namespace = namespace.trim();
      if (slots.trim() !== shown) body.slots = Number(slots);
      const changed = editedSettings(editing.settings, settings, known);
      if (Object.keys(changed).length) body.settings = changed;
      save.mutate(body);
      return;
    }
    const body: ClusterCreate = { name: name.trim(), engine };
    if (namespace.trim()) body.namespace = namespace.trim();
    if (slots.trim()) body.slots = Number(slots);
    const chosen = Object.fromEntries(Object.entries(settings).filter(([k, v]) => known.includes(k) && v.trim() !== ''));
    if (Object.keys(chosen).length) body.settings = chosen;
    save.mutate(body);
  };

  return (
    <form className="card stack" onSubmit={onSubmit} data-testid={editing ? 'cluster-edit-form' : 'cluster-form'}>
      <h2>{editing ? `Edit ${editing.name}` : 'Add a cluster'}</h2>
      <div className="row align-start">
        <label className="field">
          <span className="label">Name</span>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} data-testid="cluster-name" required disabled={!!editing} />
          {errorAt('name')}
        </label>
        <label className="field">
          <span className="label">Engine</span>
          <select value={engine} onChange={(e) => setEngine(e.target.value)} data-testid="cluster-engine" disabled={!!editing}>
            {(engines.data ?? [{ name: engine, settings: [] }]).map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
          {errorAt('engine')}
        </label>
        <label className="field">
          <span className="label">Default namespace</span>
          <input type="text" value={namespace} placeholder="default" onChange={(e) => setNamespace(e.target.value)} data-testid="cluster-namespace" />
          {errorAt('namespace')}
        </label>
        <label className="field">
          <span className="label">Slots</span>
          <input type="text" value={slots} placeholder="all cores" inputMode="numeric" onChange={(e) => setSlots(e.target.value)} data-testid="cluster-slots" />
          {errorAt('slots')}
        </label>
      </div>
      <fieldset className="settings-fieldset" data-testid="cluster-settings">
        <legend className="label">{engine} settings (empty: the engine's default)</legend>
        <div className="row align-start">
          {known.map((key) => (
            <label key={key} className="field">
              <span className="label mono">{key}</span>
              <input
                value={settings[key] ?? ''}
                type={isSecret(key) ? 'password' : 'text'}
                placeholder={isSecret(key) ? 'hidden: leave empty to keep' : undefined}
                onChange={(e) => setSettings({ ...settings, [key]: e.target.value })}
                data-testid={`cluster-setting-${key}`}
              />
              {kind?.setting_help?.[key] && (
                <span className="hint" data-testid={`cluster-setting-help-${key}`}>
                  {kind.setting_help[key]}
                </span>
              )}
              {errorAt(`settings.${key}`)}
            </label>
          ))}
        </div>
        {errorAt('settings')}
      </fieldset>
      {errorAt('form')}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={save.isPending} data-testid={editing ? 'cluster-save' : 'cluster-add'}>
          {editing ? (save.isPending ? 'Saving…' : 'Save') : save.isPending ? 'Adding…' : 'Add cluster'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel} data-testid="cluster-edit-cancel">
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
