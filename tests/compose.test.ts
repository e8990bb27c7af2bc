// docker-compose.yml without a Docker engine: parsed as Compose reads it (YAML merge keys, ${VAR} substitution),
// and checked for the production layout the README documents: Postgres, Redis, migrations first, two ingest nodes
// with their own NODE_ID and ports, three analyzer workers, one shared data volume, every Warden variable one that
// core/config.ts knows and every Warden service's environment a configuration loadConfig accepts, and MediaMTX
// pointed at the publish-gate hook.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { envSchema, loadConfig } from '../core/config.ts';
import { ON_PUBLISH_PATH } from '../api/ingest-hooks.ts';

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}; `vars` stands in for the shell. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (vars[name] !== undefined && vars[name] !== '') return vars[name]!;
    if (op === '-') return arg ?? '';
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return '';
  });
}

interface Service { command?: string[]; environment?: Record<string, string>; ports?: string[]; volumes?: string[]; depends_on?: Record<string, { condition: string }>; deploy?: { replicas?: number }; profiles?: string[]; image?: string; build?: string }

const raw = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
const vars = { DATA_KEY: 'ab'.repeat(32), INGEST_HOOK_SECRET: 'compose-test-secret-0123456789' };
const compose = YAML.parse(interpolate(raw, vars), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { services } = compose;
const warden = Object.entries(services).filter(([, s]) => s.build === '.');

describe('docker-compose.yml', () => {
  it('refuses to start without DATA_KEY and INGEST_HOOK_SECRET', () => {
    expect(() => interpolate(raw, {})).toThrow(/DATA_KEY/);
    expect(() => interpolate(raw, { DATA_KEY: vars.DATA_KEY })).toThrow(/INGEST_HOOK_SECRET/);
  });

  it('runs Postgres, Redis, migrations, two ingest nodes and three workers', () => {
    expect(Object.keys(services).sort()).toEqual(['ingest-a', 'ingest-b', 'mediamtx', 'migrate', 'postgres', 'redis', 'worker']);
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(services['ingest-a']!.command).toEqual(['ingest']);
    expect(services['ingest-b']!.command).toEqual(['ingest']);
    expect(services.worker!.command).toEqual(['worker']);
    expect(services.worker!.deploy?.replicas).toBe(3);
    for (const name of ['ingest-a', 'ingest-b', 'worker']) {
      expect(services[name]!.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
      expect(services[name]!.depends_on?.postgres?.condition, name).toBe('service_healthy');
      expect(services[name]!.depends_on?.redis?.condition, name).toBe('service_healthy');
    }
    expect(services.redis!.command).toContain('noeviction'); // BullMQ loses jobs under eviction
  });

  it('gives every Warden process the same stores, key and data volume, and each ingest node its own id and ports', () => {
    for (const [name, s] of warden) {
      const e = s.environment!;
      expect(e.DATABASE_URL, name).toBe('postgres://warden:warden@postgres:5432/warden');
      expect(e.REDIS_URL, name).toBe('redis://redis:6379');
      expect(e.DATA_KEY, name).toBe(vars.DATA_KEY);
      if (name !== 'migrate') expect(s.volumes, name).toEqual(['wardendata:/data']);
    }
    const ingest = [services['ingest-a']!, services['ingest-b']!];
    expect(new Set(ingest.map((s) => s.environment!.NODE_ID)).size).toBe(2);
    const hostPorts = ingest.flatMap((s) => s.ports!.map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const s of ingest) {
      expect(s.environment!.INGEST_HOOK_SECRET).toBe(vars.INGEST_HOOK_SECRET);
      expect(s.environment!.HTTP_HOST).toBe('0.0.0.0');
      expect(s.environment!.WORKER_PROCESSES).toBe('0');
    }
    expect(compose.volumes).toHaveProperty('wardendata');
  });

  it('sets only variables Warden knows, and each service\'s environment loads as a configuration', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const [name, s] of warden) {
      const unknown = Object.keys(s.environment!).filter((k) => !known.has(k));
      expect(unknown, name).toEqual([]);
      expect(() => loadConfig(s.environment!), name).not.toThrow();
    }
    const a = loadConfig(services['ingest-a']!.environment!);
    expect(a.nodeId).toBe('ingest-a');
    expect(a.ingestHookSecret).toBe(vars.INGEST_HOOK_SECRET);
    expect(loadConfig(services.worker!.environment!).analyzer.workerProcesses).toBe(2);
  });

  it('points MediaMTX (optional profile) at the publish-gate hook of an ingest node, with the secret', () => {
    const m = services.mediamtx!;
    expect(m.profiles).toEqual(['mediamtx']);
    expect(m.environment!.MTX_AUTHMETHOD).toBe('http');
    const url = new URL(m.environment!.MTX_AUTHHTTPADDRESS!);
    expect(url.hostname in services && url.port).toBe('8080');
    expect(url.pathname).toBe(ON_PUBLISH_PATH);
    expect(url.searchParams.get('secret')).toBe(vars.INGEST_HOOK_SECRET);
  });
});
