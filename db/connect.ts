/** Connecting to PostgreSQL, creating the database when missing, and running migrations. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { WardenError, errorText } from '../core/errors.ts';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
/** A database handle or a transaction on it: query functions accept either. */
export type Tx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The URL with any password replaced by '***', for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function unreachable(url: string, err: unknown): WardenError {
  return new WardenError('unavailable', `cannot reach PostgreSQL at ${redactUrl(url)}: ${errorText(err) || (err as { code?: string }).code}`, { cause: err });
}

/**
 * Seconds a pool connection waits before reconnecting after `retries` failed attempts in a row: 0.1 s doubling to
 * 2 s, with jitter. (postgres.js's default grows to 20 s, so after an outage of half a minute queries could wait up
 * to 20 s more for a connection although the server was back.)
 */
export function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 2);
}

/**
 * Opens a connection pool and checks that the server answers.
 * @param opts.max pool size (connections, default 10); opts.prepare whether queries become named prepared statements
 *   (default true; false behind a pooler in transaction mode).
 * @throws WardenError('unavailable') naming the URL when the server cannot be reached.
 */
export async function connectDatabase(url: string, opts: { max?: number; prepare?: boolean } = {}): Promise<Database> {
  // max_lifetime: a connection is replaced after 30-60 min (staggered), which bounds the prepared statements it keeps
  // (postgres.js never forgets one) and the memory its server process grows to
  const sql = postgres(url, {
    max: opts.max ?? 10, prepare: opts.prepare ?? true, onnotice: () => {}, connect_timeout: 5, idle_timeout: 30,
    max_lifetime: 60 * (30 + Math.random() * 30), backoff: reconnectBackoff,
  });
  try {
    await sql`select 1`;
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw unreachable(url, err);
  }
  return { db: drizzle(opts.prepare ?? true ? preparing(sql) : sql, { schema }), sql, close: () => sql.end({ timeout: 5 }) };
}

/**
 * The client drizzle is given: `sql` whose queries become named prepared statements, in transactions and savepoints
 * too. drizzle-orm's postgres-js driver asks for a prepared statement only for a query given a name with
 * `.prepare(name)`; every other query went unnamed, and postgres.js sends an unnamed query with parameters in two
 * round trips (Parse and Describe to learn the parameter types, then Bind and Execute), which Postgres parses and
 * plans each time. Prepared, a query is parsed and described once per connection (postgres.js keeps the statements
 * by their text) and then costs one round trip.
 */
function preparing<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, key, receiver) {
      switch (key) {
        case 'unsafe':
          return (query: string, params?: unknown[], o?: postgres.UnsafeQueryOptions) =>
            (target.unsafe as (q: string, p?: unknown[], o?: postgres.UnsafeQueryOptions) => unknown)(query, params, { ...o, prepare: true });
        case 'begin':
          return (...args: unknown[]) => {
            const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
            return (target as postgres.Sql).begin(...(args as [string]), (tx) => fn(preparing(tx)));
          };
        case 'savepoint':
          return (...args: unknown[]) => {
            const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
            return (target as postgres.TransactionSql).savepoint(...(args as [string]), (tx) => fn(preparing(tx)));
          };
        default:
          return Reflect.get(target, key, receiver);
      }
    },
  });
}

/**
 * Creates the database named in `url` when it does not exist (connecting to the server's `postgres` database).
 * The name must be a plain identifier (letters, digits, underscore); it is never interpolated otherwise.
 * @throws WardenError('unavailable') when the server cannot be reached; 'bad_request' for an unsafe name.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new WardenError('bad_request', `database name "${name}" must be letters, digits and underscores`);
  u.pathname = '/postgres';
  const admin = postgres(u.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await admin.unsafe(`create database "${name}"`);
  } catch (err) {
    if ((err as { code?: string }).code === '42P04') return; // created concurrently
    if ((err as { code?: string }).code?.match(/^[0-9A-Z]{5}$/)) throw err;
    throw unreachable(url, err);
  } finally {
    await admin.end({ timeout: 1 }).catch(() => {});
  }
}

/** Drops a database (tests' throw-away databases), disconnecting its sessions first. */
export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new WardenError('bad_request', `bad database name "${name}"`);
  u.pathname = '/postgres';
  const admin = postgres(u.toString(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}

/** Applies the SQL migrations in db/migrations that have not run yet (drizzle's journal; safe to repeat). */
export async function runMigrations(database: Database): Promise<void> {
  await migrate(database.db, { migrationsFolder });
}
