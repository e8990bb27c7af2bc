/** `warden audit verify`: walks the audit log's hash chain; prints the result as JSON, exit 1 when it is broken. */
import type { Config } from '../../core/config.ts';
import { connectDatabase, verifyAuditChain } from '../../db/index.ts';

export async function runAuditVerify(config: Config): Promise<number> {
  const database = await connectDatabase(config.databaseUrl, { max: 1 });
  try {
    const r = await verifyAuditChain(database.db);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    if (!r.ok && r.firstBroken) {
      process.stderr.write(`warden audit verify: the chain breaks at entry ${r.firstBroken.id} (position ${r.firstBroken.seq}): ${r.firstBroken.problem}; ${r.entries} entries before it verify\n`);
      return 1;
    }
    return 0;
  } finally {
    await database.close();
  }
}
