/** `warden serve` / `warden worker` / `warden ingest`: run until SIGTERM or SIGINT, then shut down in order. */
import type { Config } from '../../core/config.ts';
import { createContext } from '../../core/context.ts';
import { startWarden, type WardenRoles } from '../runtime.ts';

/** Runs the given roles until a termination signal; returns the exit code. */
export async function runServe(config: Config, roles: WardenRoles): Promise<number> {
  const ctx = await createContext(config, { migrate: true });
  const warden = await startWarden(ctx, roles).catch(async (err) => { await ctx.close(); throw err; });
  ctx.logger.info({ roles, http: warden.httpUrl, rtmp: roles.ingest ? `rtmp://${config.rtmp.host}:${config.rtmp.port}/live` : undefined }, 'warden running');
  process.once('SIGHUP', () => void ctx.reloadPolicy().catch((err) => ctx.logger.error({ err: String(err) }, 'policy reload failed; keeping the old one')));
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  ctx.logger.info({ signal }, 'shutting down');
  await warden.stop();
  await ctx.close();
  return 0;
}
