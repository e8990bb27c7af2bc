/**
 * The Postgres pool's two settings for scaling out, on the real server: DATABASE_POOL_MAX bounds the connections a
 * process opens however many queries it runs at once (nodes × processes × pool must fit the server's
 * max_connections), and DATABASE_PREPARE=false sends no named prepared statements (what a pooler in transaction mode
 * needs), while the default prepares them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.ts';
import { eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { connectDatabase, deleteSamples, openCasePriorities, transcriptsOf } from '../db/index.ts';
import { broadcasts, sessions, users } from '../db/schema.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

describe('the Postgres pool', () => {
  it('reads DATABASE_POOL_MAX and DATABASE_PREPARE, and refuses nonsense', () => {
    expect(loadConfig({}).database).toEqual({ poolMax: 10, prepare: true });
    expect(loadConfig({ DATABASE_POOL_MAX: '25', DATABASE_PREPARE: 'false' }).database).toEqual({ poolMax: 25, prepare: false });
    expect(() => loadConfig({ DATABASE_POOL_MAX: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_POOL_MAX: 'lots' })).toThrow(/DATABASE_POOL_MAX/);
    expect(() => loadConfig({ DATABASE_PREPARE: 'maybe' })).toThrow(/DATABASE_PREPARE/);
  });

  it('opens at most DATABASE_POOL_MAX connections while 12 queries run at once', async () => {
    const name = `warden-pool-test-${process.pid}`;
    const url = new URL(env.config.databaseUrl);
    url.searchParams.set('application_name', name);
    const database = await connectDatabase(url.toString(), { max: 3 });
    try {
      let most = 0;
      const running = Promise.all(Array.from({ length: 12 }, () => database.sql`select pg_sleep(0.15)`));
      const watch = (async () => {
        for (let i = 0; i < 8; i++) {
          const [r] = await env.ctx.database.sql`select count(*)::int as n from pg_stat_activity where application_name = ${name}`;
          most = Math.max(most, r!.n as number);
          await new Promise((res) => setTimeout(res, 60));
        }
      })();
      await Promise.all([running, watch]);
      expect(most).toBe(3);
    } finally {
      await database.close();
    }
  });

  it('prepares named statements by default, and none with prepare: false', async () => {
    const prepared = async (prepare: boolean) => {
      const database = await connectDatabase(env.config.databaseUrl, { max: 1, prepare });
      try {
        for (let i = 0; i < 3; i++) await database.sql`select ${i}::int as n`;
        const [r] = await database.sql`select count(*)::int as n from pg_prepared_statements`;
        return r!.n as number;
      } finally {
        await database.close();
      }
    };
    expect(await prepared(true)).toBeGreaterThan(0);
    expect(await prepared(false)).toBe(0);
  });

  it('prepares the queries drizzle builds too, in transactions and savepoints (one round trip each, not two)', async () => {
    // drizzle-orm's postgres-js driver prepares only queries named with .prepare(name); the rest went unnamed, each
    // parsed, described and planned again (two round trips). One connection, so pg_prepared_statements sees them all.
    const drizzleStatements = async (prepare: boolean) => {
      const database = await connectDatabase(env.config.databaseUrl, { max: 1, prepare });
      try {
        for (let i = 0; i < 3; i++) {
          await database.db.select({ id: users.id }).from(users).where(eq(users.handle, `nobody-${i}`));
          await database.db.transaction(async (tx) => {
            await tx.select({ n: sql<number>`count(*)` }).from(sessions).where(eq(sessions.userId, '00000000-0000-4000-8000-000000000000'));
            await tx.transaction(async (inner) => {
              await inner.select({ id: broadcasts.id }).from(broadcasts).where(eq(broadcasts.ingestNode, `node-${i}`));
            });
          });
        }
        const rows = await database.sql`select statement from pg_prepared_statements`;
        return rows.map((r) => r.statement as string);
      } finally {
        await database.close();
      }
    };
    const on = await drizzleStatements(true);
    for (const table of ['users', 'sessions', 'broadcasts']) {
      // prepared once on the connection, then reused: one statement per query shape
      expect(on.filter((s) => s.includes(`from "${table}"`)), table).toHaveLength(1);
    }
    expect(await drizzleStatements(false)).toEqual([]);
  });

  it('keeps a query over a list of any length one prepared statement (the list is one array parameter)', async () => {
    const database = await connectDatabase(env.config.databaseUrl, { max: 1 });
    try {
      for (let n = 1; n <= 6; n++) {
        const ids = Array.from({ length: n }, () => randomUUID());
        expect((await transcriptsOf(database.db, ids)).size).toBe(0);
        expect((await openCasePriorities(database.db, ids)).size).toBe(0);
        expect(await deleteSamples(database.db, ids)).toBe(0);
      }
      const rows = await database.sql`select statement from pg_prepared_statements`;
      const texts = rows.map((r) => r.statement as string);
      for (const [what, marker] of [['transcripts', /^select .* from "transcripts"/s], ['case priorities', /array_position/], ['sample deletion', /^delete from "samples"/]] as const) {
        expect(texts.filter((t) => marker.test(t.trim())), what).toHaveLength(1);
      }
    } finally {
      await database.close();
    }
  });
});
