// New search form; `?from=<job id>` prefills it from an earlier job (duplicate).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { isNotFound } from '../api/client';
import { api } from '../api/endpoints';
import type { JobCreate, OptionSpec, ProgramName } from '../api/types';
import { FieldError, type ShownError } from '../components/search/FieldError';
import { NotifyFields } from '../components/search/NotifyFields';
import { OptionField } from '../components/search/OptionField';
import { OrganismField } from '../components/search/OrganismField';
import { QueryField } from '../components/search/QueryField';
import { jobKey } from '../live/useJobLive';
import { exampleQuery } from '../search/examples';
import { fieldErrorFrom, type ErrorKey } from '../search/fieldErrors';
import { EMPTY_NOTIFY, notifyTargets, type NotifyInput } from '../search/notify';
import { taxaFromFilter, taxaOptions, unchosenTaxon, whyNoOrganisms, type ChosenTaxon } from '../search/taxa';
import { PROGRAM_NAMES, PROGRAM_SUMMARY, databaseFields, databaseLabel, databasesFor, moleculeWord, otherDatabases, programInfo, unavailableText } from '../search/programs';
import { collectOptions, inputsFromOptions, type OptionInput } from '../validation/options';
import { checkQuery } from '../validation/query';

/** Shown above the Advanced section, in this order. */
const COMMON_OPTIONS = ['evalue', 'max_target_seqs', 'word_size', 'task'];
/** The organism filter's options (not BLAST options: the server turns them into a taxid list). */
const TAXON_OPTIONS = ['taxids', 'negative_taxids'];

type Errors = Partial<Record<ErrorKey, ShownError>>;

/** A missing route (older server) is "no data", not an error. */
async function orNull<T>(load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export function SearchPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const from = params.get('from');

  const programs = useQuery({ queryKey: ['programs'], queryFn: () => orNull(api.programs), staleTime: Infinity });
  const databases = useQuery({ queryKey: ['databases'], queryFn: api.databases, staleTime: 60_000 });
  const clusters = useQuery({ queryKey: ['clusters'], queryFn: api.clusters, staleTime: 60_000 });
  const limits = useQuery({ queryKey: ['limits'], queryFn: api.limits, staleTime: Infinity });

  const [program, setProgram] = useState<ProgramName>('blastn');
  const [database, setDatabase] = useState('');
  const [extras, setExtras] = useState<string[]>([]);
  const [query, setQuery] = useState('');
  const [title, setTitle] = useState('');
  const [cluster, setCluster] = useState('');
  const [namespace, setNamespace] = useState('');
  const [inputs, setInputs] = useState<Record<string, OptionInput>>({});
  const [taxa, setTaxa] = useState<ChosenTaxon[]>([]);
  const [organismText, setOrganismText] = useState(''); // typed in the organism field, not chosen
  const [notify, setNotify] = useState<NotifyInput>(EMPTY_NOTIFY);
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<ShownError | null>(null);

  const options = useQuery({ queryKey: ['options', program], queryFn: () => api.options(program), staleTime: Infinity });
  const specs: OptionSpec[] = useMemo(() => options.data ?? [], [options.data]);
  const info = programInfo(programs.data ?? undefined, program);
  const fitting = databasesFor(databases.data, info.database_molecule);
  const clusterInfo = clusters.data?.find((c) => c.name === cluster);

  const chosenDatabase = fitting.find((d) => d.name === database);
  const others = otherDatabases(fitting, database);

  // Keep the database a fitting one (the first searchable one by default), and the cluster a known one.
  useEffect(() => {
    if (databases.data && !fitting.some((d) => d.name === database)) setDatabase((fitting.find((d) => d.available) ?? fitting[0])?.name ?? '');
  }, [databases.data, fitting, database]);
  // Added databases stay those of the program's molecule (a program of the other kind drops them).
  useEffect(() => {
    if (databases.data && extras.some((name) => !others.some((d) => d.name === name))) {
      setExtras(extras.filter((name) => others.some((d) => d.name === name)));
    }
  }, [databases.data, others, extras]);
  useEffect(() => {
    if (clusters.data && !clusters.data.some((c) => c.name === cluster)) {
      setCluster(clusters.data.find((c) => c.name === 'local')?.name ?? clusters.data[0]?.name ?? '');
    }
  }, [clusters.data, cluster]);

  usePrefill(from, { setProgram, setDatabase, setExtras, setQuery, setTitle, setCluster, setNamespace, setInputs, setTaxa, setFormError });

  const clearError = (key: ErrorKey) => setErrors((old) => (old[key] ? { ...old, [key]: undefined } : old));
  const setOption = (name: string, value: OptionInput) => {
    setInputs((old) => ({ ...old, [name]: value }));
    clearError(`opt-${name}`);
  };

  const submit = useMutation({
    mutationFn: (body: JobCreate) => api.submit(body),
    onSuccess: (job) => {
      // Seed the job page with the 202 payload: it renders at once and sees every later phase.
      queryClient.setQueryData(jobKey(job.id), job);
      navigate(`/jobs/${job.id}`);
    },
    onError: (error) => {
      const shown = fieldErrorFrom(error, [...specs.map((s) => s.name), ...TAXON_OPTIONS]);
      if (shown.key) setErrors((old) => ({ ...old, [shown.key as ErrorKey]: shown }));
      else setFormError(shown);
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    const found: Errors = {};
    const checked = checkQuery(query, info.query_molecule, limits.data);
    if (!checked.ok) found.query = checked.problem;
    if (!database) found.database = { code: 'unknown_database', message: `Choose a ${moleculeWord(info.database_molecule)} database.` };
    else if (chosenDatabase && !chosenDatabase.available) {
      found.database = { code: 'database_files_missing', message: unavailableText(chosenDatabase) };
    }
    const collected = collectOptions(specs, inputs);
    for (const [name, message] of Object.entries(collected.errors)) found[`opt-${name}`] = { code: 'invalid_option_value', message };
    const unchosen = unchosenTaxon(organismText, chosenDatabase);
    if (unchosen) found['opt-taxids'] = unchosen;
    setErrors(found);
    if (Object.keys(found).length) return;
    const body: JobCreate = { program, ...databaseFields(database, extras), query };
    if (title.trim()) body.title = title.trim();
    if (cluster) body.cluster = cluster;
    if (namespace.trim()) body.namespace = namespace.trim();
    // A database without taxids takes no organism filter (the field is disabled for it).
    const organisms = whyNoOrganisms(chosenDatabase) ? {} : taxaOptions(taxa);
    const options = { ...collected.options, ...organisms };
    if (Object.keys(options).length) body.options = options;
    const targets = notifyTargets(notify);
    if (targets) body.notify = targets;
    submit.mutate(body);
  };

  const changeProgram = (next: ProgramName) => {
    setProgram(next);
    // Task names differ per program; other options are re-checked against the new list.
    setInputs(({ task: _task, ...rest }) => rest);
    setErrors({});
  };

  const common = COMMON_OPTIONS.map((name) => specs.find((s) => s.name === name)).filter((s): s is OptionSpec => !!s);
  const advanced = specs.filter((s) => !COMMON_OPTIONS.includes(s.name));
  const renderOption = (spec: OptionSpec) => (
    <OptionField
      key={spec.name}
      spec={spec}
      value={inputs[spec.name]}
      onChange={(v) => setOption(spec.name, v)}
      error={errors[`opt-${spec.name}`]}
      {...(spec.name === 'task' && info.tasks.length
        ? { choices: info.tasks, defaultLabel: info.default_task ?? undefined }
        : {})}
    />
  );

  return (
    <form className="stack" onSubmit={onSubmit} noValidate data-testid="search-form">
      <h1>New search</h1>
      {formError && (
        <div className="alert alert-error" role="alert" data-testid="form-error">
          {formError.message} <code className="error-code">{formError.code}</code>
        </div>
      )}

      <section className="card stack">
        <div className="grid-2">
          <div className="field">
            <label className="label" htmlFor="program">
              Program
            </label>
            <select id="program" value={program} onChange={(e) => changeProgram(e.target.value as ProgramName)} data-testid="program">
              {PROGRAM_NAMES.map((name) => (
                <option key={name} value={name}>
                  {name} — {PROGRAM_SUMMARY[name]}
                </option>
              ))}
            </select>
            <FieldError name="program" error={errors.program} />
          </div>
          <div className="field">
            <label className="label" htmlFor="database">
              Database ({moleculeWord(info.database_molecule)})
            </label>
            <select
              id="database"
              value={database}
              onChange={(e) => {
                setDatabase(e.target.value);
                clearError('database');
              }}
              data-testid="database"
              aria-invalid={!!errors.database}
            >
              {databases.isPending && <option value="">Loading…</option>}
              {databases.data && fitting.length === 0 && <option value="">No {moleculeWord(info.database_molecule)} database</option>}
              {fitting.map((d) => (
                <option key={d.name} value={d.name} disabled={!d.available} title={d.available ? undefined : unavailableText(d)}>
                  {databaseLabel(d)}
                </option>
              ))}
            </select>
            {chosenDatabase && !chosenDatabase.available && !errors.database && (
              <span className="hint" data-testid="database-unavailable">
                {unavailableText(chosenDatabase)}
              </span>
            )}
            {databases.error && <span className="hint">Could not load databases: {String((databases.error as Error).message)}</span>}
            <FieldError name="database" error={errors.database} />
          </div>
          {others.length > 0 && (
            <div className="field">
              <label className="label" htmlFor="more-databases">
                Also search ({moleculeWord(info.database_molecule)}; searched as one with the database above)
              </label>
              <select
                id="more-databases"
                multiple
                size={Math.min(4, others.length)}
                value={extras}
                onChange={(e) => {
                  setExtras(Array.from(e.target.selectedOptions, (o) => o.value));
                  clearError('database');
                }}
                data-testid="more-databases"
              >
                {others.map((d) => (
                  <option key={d.name} value={d.name}>
                    {databaseLabel(d)}
                  </option>
                ))}
              </select>
              <span className="hint">E-values are computed over all the chosen databases together, as BLAST does with several.</span>
            </div>
          )}
        </div>

        <OrganismField
          value={taxa}
          onChange={(next) => {
            setTaxa(next);
            clearError('opt-taxids');
            clearError('opt-negative_taxids');
          }}
          text={organismText}
          onText={(text) => {
            setOrganismText(text);
            clearError('opt-taxids');
          }}
          database={chosenDatabase}
          error={errors['opt-taxids'] ?? errors['opt-negative_taxids']}
        />

        <QueryField
          value={query}
          onChange={(text) => {
            setQuery(text);
            clearError('query');
          }}
          onExample={() => {
            setQuery(exampleQuery(program));
            clearError('query');
          }}
          onFileProblem={(problem) => setErrors((old) => ({ ...old, query: problem }))}
          error={errors.query}
          limits={limits.data}
          moleculeWord={moleculeWord(info.query_molecule)}
        />
      </section>

      <section className="card stack">
        <h2>Options</h2>
        {options.isPending && <p className="muted">Loading options…</p>}
        <div className="grid-4">{common.map(renderOption)}</div>
        {advanced.length > 0 && (
          <details className="advanced" data-testid="advanced">
            <summary>Advanced ({advanced.length} more options)</summary>
            <div className="grid-3">{advanced.map(renderOption)}</div>
          </details>
        )}
      </section>

      <section className="card stack">
        <h2>Job</h2>
        <div className="grid-3">
          <div className="field">
            <label className="label" htmlFor="title">
              Title (optional)
            </label>
            <input
              id="title"
              type="text"
              value={title}
              maxLength={200}
              placeholder="defaults to the first query's header"
              onChange={(e) => {
                setTitle(e.target.value);
                clearError('title');
              }}
              data-testid="title"
            />
            <FieldError name="title" error={errors.title} />
          </div>
          <div className="field">
            <label className="label" htmlFor="cluster">
              Cluster
            </label>
            <select
              id="cluster"
              value={cluster}
              onChange={(e) => {
                setCluster(e.target.value);
                setNamespace('');
                clearError('cluster');
              }}
              data-testid="cluster"
            >
              {clusters.isPending && <option value="">Loading…</option>}
              {clusters.data?.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name} ({c.engine})
                </option>
              ))}
            </select>
            <FieldError name="cluster" error={errors.cluster} />
          </div>
          <div className="field">
            <label className="label" htmlFor="namespace">
              Namespace
            </label>
            {clusterInfo && clusterInfo.namespaces.length > 0 ? (
              <select
                id="namespace"
                value={namespace}
                onChange={(e) => {
                  setNamespace(e.target.value);
                  clearError('namespace');
                }}
                data-testid="namespace"
              >
                <option value="">default ({clusterInfo.namespace})</option>
                {clusterInfo.namespaces.map((ns) => (
                  <option key={ns} value={ns}>
                    {ns}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id="namespace"
                type="text"
                value={namespace}
                placeholder={clusterInfo?.namespace ?? 'default'}
                onChange={(e) => {
                  setNamespace(e.target.value);
                  clearError('namespace');
                }}
                data-testid="namespace"
              />
            )}
            <FieldError name="namespace" error={errors.namespace} />
          </div>
        </div>
        <NotifyFields value={notify} onChange={setNotify} />
      </section>

      <div className="row">
        <button type="submit" className="btn btn-primary btn-large" disabled={submit.isPending} data-testid="submit">
          {submit.isPending ? 'Submitting…' : 'Submit search'}
        </button>
        {from && <span className="muted">Prefilled from job {from.slice(0, 8)}</span>}
      </div>
    </form>
  );
}

interface PrefillSetters {
  setProgram: (p: ProgramName) => void;
  setDatabase: (d: string) => void;
  setExtras: (d: string[]) => void;
  setQuery: (q: string) => void;
  setTitle: (t: string) => void;
  setCluster: (c: string) => void;
  setNamespace: (n: string) => void;
  setInputs: (i: Record<string, OptionInput>) => void;
  setTaxa: (t: ChosenTaxon[]) => void;
  setFormError: (e: ShownError | null) => void;
}

/** Fill the form once from job `from` and its submitted query. */
function usePrefill(from: string | null, set: PrefillSetters) {
  const job = useQuery({ queryKey: jobKey(from ?? ''), queryFn: () => api.job(from!), enabled: !!from });
  const text = useQuery({ queryKey: ['job-query', from], queryFn: () => orNull(() => api.jobQuery(from!)), enabled: !!from, staleTime: Infinity });
  const applied = useRef<string | null>(null);
  const textApplied = useRef<string | null>(null);
  const setters = useRef(set);
  setters.current = set;

  useEffect(() => {
    if (!from || !job.data || applied.current === from) return;
    applied.current = from;
    const j = job.data;
    const s = setters.current;
    s.setProgram(j.program);
    s.setDatabase(j.database);
    s.setExtras((j.databases ?? []).slice(1));
    s.setTitle(j.title ?? '');
    s.setCluster(j.cluster);
    s.setNamespace(j.namespace);
    s.setInputs(inputsFromOptions(j.options ?? {}));
    s.setTaxa(taxaFromFilter(j.taxon_filter));
  }, [from, job.data]);

  useEffect(() => {
    if (!from || text.data == null || textApplied.current === from) return;
    textApplied.current = from;
    setters.current.setQuery(text.data);
  }, [from, text.data]);

  useEffect(() => {
    if (job.error) {
      const shown = fieldErrorFrom(job.error, []);
      setters.current.setFormError({ code: shown.code, message: `Could not load job ${from}: ${shown.message}` });
    }
  }, [job.error, from]);
}
