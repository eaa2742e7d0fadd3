// The environment (RASAD_*) as config layers: one layer for each variable
// set, so that a bad value is reported under the variable's name. An empty
// variable counts as unset, as shells make that easy.
import { ConfigError, describe } from './errors.js';

export interface Layer {
  /** Who gave it: a file name, an environment variable, "command line". */
  source: string;
  value: unknown;
}

export interface EnvironmentLayers {
  layers: Layer[];
  /**
   * RASAD_WEBHOOK_SECRET: it signs every webhook that has no secret of its
   * own, whichever layer configured it, so it is applied after the merge.
   */
  webhookSecret: string | undefined;
}

/** The variables rasad reads, in the order they apply. */
export const ENVIRONMENT_VARIABLES = [
  'RASAD_DB',
  'RASAD_TARGETS',
  'RASAD_CONTROL',
  'RASAD_RESOLVER',
  'RASAD_DOH_URL',
  'RASAD_HTTP_BIND',
  'RASAD_HTTP_PORT',
  'RASAD_HTTP_TOKEN',
  'RASAD_LOG_LEVEL',
  'RASAD_PROBE_CIRCUMVENTION',
  'RASAD_WEBHOOK_URL',
  'RASAD_WEBHOOK_SECRET',
] as const;

/** A number when the text is one (so the schema can say "must be an integer"), else the text itself. */
const numeric = (value: string): number | string => (/^-?[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : value);

const MAPPING: Record<Exclude<(typeof ENVIRONMENT_VARIABLES)[number], 'RASAD_WEBHOOK_SECRET'>, (value: string) => unknown> = {
  RASAD_DB: (db) => ({ db }),
  RASAD_TARGETS: (targets) => ({ targets }),
  // "none" turns the control off, as `controls: []` does in a file.
  RASAD_CONTROL: (list) => ({ controls: list.trim().toLowerCase() === 'none' ? [] : list.split(',').map((c) => c.trim()).filter((c) => c !== '') }),
  RASAD_RESOLVER: (resolver) => ({ probe: { resolver } }),
  RASAD_DOH_URL: (dohUrl) => ({ probe: { dohUrl } }),
  RASAD_HTTP_BIND: (bind) => ({ http: { bind } }),
  RASAD_HTTP_PORT: (port) => ({ http: { port: numeric(port) } }),
  RASAD_HTTP_TOKEN: (token) => ({ http: { token } }),
  RASAD_LOG_LEVEL: (level) => ({ log: { level: level.toLowerCase() } }),
  RASAD_PROBE_CIRCUMVENTION: (value) => {
    const on = ['1', 'true', 'yes'].includes(value.toLowerCase());
    const off = ['0', 'false', 'no'].includes(value.toLowerCase());
    if (!on && !off) throw new ConfigError('RASAD_PROBE_CIRCUMVENTION', null, `must be 1 (probe circumvention tools) or 0 (got ${describe(value)})`);
    return { probeCircumvention: on };
  },
  // Replaces the configured webhooks with this one.
  RASAD_WEBHOOK_URL: (url) => ({ webhooks: [{ url }] }),
};

export function environmentLayers(env: NodeJS.ProcessEnv): EnvironmentLayers {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const layers: Layer[] = [];
  for (const [name, toLayer] of Object.entries(MAPPING)) {
    const value = get(name);
    if (value !== undefined) layers.push({ source: name, value: toLayer(value) });
  }
  return { layers, webhookSecret: get('RASAD_WEBHOOK_SECRET') };
}
