/**
 * The `warden` CLI. Commands:
 *   serve                 api + ingest + analyzer workers in one process (graceful shutdown on SIGTERM/SIGINT)
 *   worker                analyzer workers only (scale out against the same Postgres and Redis)
 *   ingest                api + RTMP ingest, no analyzer (an ingest node beside `warden worker` processes)
 *   migrate               create the database if missing and apply migrations
 *   demo [--exit]         the end-to-end demo on a real RTMP stream
 *   check-image FILE...   score images with the frame model, one JSON line each
 *   check-text            verdicts for UTF-8 lines on stdin, one JSON line each
 *   transcribe FILE       speech to text with word timings and spotted keyphrases (JSON)
 *   rules test [POLICY]   replay stored signals against a policy and print what would change
 *   models build          compile the frame model to ONNX, verify it against TF.js, cache it
 *   loadgen               publish N real streams, join M chat viewers posting R messages/s, report what it saw
 * Configuration comes from environment variables (see README); bad input exits non-zero with a message.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../core/config.ts';
import { WardenError } from '../core/errors.ts';
import { PolicyError } from '../rules/index.ts';

const usage = `usage: warden <command> [options]
  serve                 run api, ingest and analyzer workers
  worker                run analyzer workers only
  ingest                run api and RTMP ingest only (no analyzer: pair with \`warden worker\` processes)
  migrate               create the database if missing and apply migrations
  demo [--exit]         run the demo on a real stream (--exit: stop when done)
  check-image FILE...   score images with the frame model (one JSON line per file)
  check-text            check UTF-8 lines from stdin against the chat policy (one JSON line each)
  transcribe FILE       transcript with word timings and the policy's spoken watch-list hits (JSON)
                        [--keyphrase PHRASE]... more phrases to spot; [--no-watch-list] only those
  rules test [POLICY]   replay stored signals against POLICY (default: the policy in force) [--since DAYS]
  users create --email E --password P|- --role R [--handle H]
  users set-role --email E --role R      (revokes the user's sessions)
  users grant|revoke --email E --permission queue:NAME
  users disable|enable --email E;  users list
  users totp-reset --email E           (lost authenticator: TOTP off, sessions ended; staff enrol again)
  audit verify          check the audit log's hash chain (exit 1 naming the first broken entry)
  models build          compile nsfwjs's model to ONNX, check it equals TF.js, cache it [--quiet]
  loadgen --streams N [--viewers M] [--chat-rate R] [--seconds S]
                        load a running Warden: N real RTMP streams (one clip, stream copy), M chat viewers posting R
                        messages/s in all; prints publishes, chat verdicts, samples analysed, backlog, CPU, then JSON.
                        Loopback only (seeds performers and viewers in the configured database), unless both
                        --url rtmp://HOST:PORT/live and --api http://HOST:PORT are given with --keys FILE [--tokens FILE]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
    case 'worker':
    case 'ingest': {
      const { runServe } = await import('./commands/serve.ts');
      const roles = { serve: { api: true, ingest: true, workers: true }, worker: { workers: true }, ingest: { api: true, ingest: true } }[command];
      return runServe(loadConfig(), roles);
    }
    case 'migrate': {
      const { runMigrate } = await import('./commands/migrate.ts');
      return runMigrate(loadConfig());
    }
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { exit: { type: 'boolean', default: false } } });
      const { runDemo } = await import('./demo.ts');
      return runDemo(loadConfig(), { exit: values.exit ?? false });
    }
    case 'check-image': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      if (positionals.length === 0) {
        process.stderr.write('warden check-image: give at least one image file\n');
        return 2;
      }
      const { runCheckImageCommand } = await import('./commands/check-image.ts');
      return runCheckImageCommand(loadConfig(), positionals);
    }
    case 'check-text': {
      const { runCheckTextCommand } = await import('./commands/check-text.ts');
      return runCheckTextCommand(loadConfig());
    }
    case 'transcribe': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true,
        options: { keyphrase: { type: 'string', multiple: true }, 'no-watch-list': { type: 'boolean', default: false } },
      });
      if (positionals.length !== 1) {
        process.stderr.write('usage: warden transcribe FILE [--keyphrase PHRASE]... [--no-watch-list]\n');
        return 2;
      }
      const { runTranscribeCommand } = await import('./commands/transcribe.ts');
      return runTranscribeCommand(loadConfig(), positionals[0]!, values.keyphrase ?? [], !values['no-watch-list']).catch((err: Error) => {
        process.stderr.write(`warden transcribe: ${err.message}\n`);
        return 1;
      });
    }
    case 'rules': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { since: { type: 'string', default: '30' } } });
      if (positionals[0] !== 'test' || positionals.length > 2) {
        process.stderr.write('usage: warden rules test [POLICY] [--since DAYS]\n');
        return 2;
      }
      const days = Number(values.since);
      if (!Number.isFinite(days) || days <= 0) {
        process.stderr.write(`warden rules test: --since must be a positive number of days, got "${values.since}"\n`);
        return 2;
      }
      const { runRulesTest } = await import('./commands/rules-test.ts');
      return runRulesTest(loadConfig(), positionals[1], days);
    }
    case 'users': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true,
        options: { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, handle: { type: 'string' }, permission: { type: 'string' } },
      });
      const { runUsersCommand } = await import('./commands/users.ts');
      return runUsersCommand(loadConfig(), positionals[0], values);
    }
    case 'models': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { quiet: { type: 'boolean', default: false } } });
      if (positionals[0] !== 'build') {
        process.stderr.write('usage: warden models build [--quiet]\n');
        return 2;
      }
      const { runModelsBuild } = await import('./commands/models.ts');
      return runModelsBuild(loadConfig(), { quiet: values.quiet ?? false });
    }
    case 'loadgen': {
      const { values } = parseArgs({
        args: rest,
        options: {
          streams: { type: 'string' }, viewers: { type: 'string' }, 'chat-rate': { type: 'string' }, seconds: { type: 'string' },
          url: { type: 'string' }, api: { type: 'string' }, keys: { type: 'string' }, tokens: { type: 'string' },
        },
      });
      const { runLoadgenCommand } = await import('./commands/loadgen.ts');
      return runLoadgenCommand(loadConfig(), values);
    }
    case 'audit': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      if (positionals[0] !== 'verify' || positionals.length > 1) {
        process.stderr.write('usage: warden audit verify\n');
        return 2;
      }
      const { runAuditVerify } = await import('./commands/audit.ts');
      return runAuditVerify(loadConfig());
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`warden: unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof WardenError || err instanceof ConfigError || err instanceof PolicyError) {
      process.stderr.write(`warden: ${err.message}\n`);
    } else if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`warden: ${err.message}\n${usage}\n`);
    } else {
      process.stderr.write(`warden: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
