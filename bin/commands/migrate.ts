/** `warden migrate`: create the database when missing and apply pending migrations. */
import type { Config } from '../../core/config.ts';
import { connectDatabase, ensureDatabase, redactUrl, runMigrations } from '../../db/index.ts';

export async function runMigrate(config: Config): Promise<number> {
  await ensureDatabase(config.databaseUrl);
  const database = await connectDatabase(config.databaseUrl, { max: 1 });
  try {
    await runMigrations(database);
  } finally {
    await database.close();
  }
  process.stdout.write(`migrated ${redactUrl(config.databaseUrl)}\n`);
  return 0;
}
