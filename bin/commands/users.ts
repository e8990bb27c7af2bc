/**
 * `warden users …`: accounts for staff and test users, from the command line.
 *   create --email E --password P|- --role R [--handle H]   (password "-" is read from stdin)
 *   set-role --email E --role R                              (revokes the user's sessions)
 *   grant|revoke --email E --permission queue:NAME
 *   disable|enable --email E
 *   totp-reset --email E                                     (a lost authenticator: TOTP off, sessions ended; staff enrol again at sign-in)
 *   list
 * Every change is in the audit log (actor: system/cli). Output is JSON; bad input exits 1 with a message.
 */
import type { Config } from '../../core/config.ts';
import { hashPassword, passwordProblem } from '../../core/passwords.ts';
import {
  changePermission, connectDatabase, createAccount, findAccountByEmail, listAccounts, revokeUserSessions, setDisabled, setRoleByEmail, type Db,
} from '../../db/index.ts';
import { roles, type Role } from '../../db/schema.ts';
import { auditAccountEvent, resetTotp } from '../../moderation/index.ts';

/** A problem with the command's input: printed, exit 1. */
export class UsageError extends Error {}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function email(v: string | undefined): string {
  if (!v || !EMAIL.test(v.trim())) throw new UsageError(`--email: give an e-mail address${v ? ` (got "${v}")` : ''}`);
  return v.trim().toLowerCase();
}

function role(v: string | undefined): Role {
  if (!v || !(roles as readonly string[]).includes(v)) throw new UsageError(`--role: one of ${roles.join(', ')}${v ? ` (got "${v}")` : ''}`);
  return v as Role;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const audit = (db: Db, action: string, userId: string, details: Record<string, unknown>) =>
  auditAccountEvent(db, { action, actor: { type: 'system', id: 'cli' }, userId, details });

/** Runs a `users` subcommand. @returns the exit code. */
export async function runUsersCommand(config: Config, sub: string | undefined, v: Record<string, string | undefined>): Promise<number> {
  const database = await connectDatabase(config.databaseUrl, { max: 1 });
  const db = database.db;
  const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  try {
    switch (sub) {
      case 'create': {
        const e = email(v.email);
        const r = role(v.role);
        const password = v.password === '-' ? await readStdin() : v.password;
        if (!password) throw new UsageError('--password: give a password, or - to read it from stdin');
        const problem = passwordProblem(password);
        if (problem) throw new UsageError(`--password: ${problem}`);
        const handle = v.handle ?? e.split('@')[0]!.replace(/[^a-z0-9_.-]/g, '-');
        if (!/^[a-z0-9_.-]{2,40}$/.test(handle)) throw new UsageError(`--handle: 2–40 of a-z 0-9 _ . - (got "${handle}")`);
        const created = await createAccount(db, { email: e, handle, role: r, passwordHash: await hashPassword(password) });
        if (!created) {
          throw new UsageError(await findAccountByEmail(db, e)
            ? `an account with e-mail ${e} already exists (change it with set-role, grant, disable)`
            : `the handle "${handle}" is taken; choose another with --handle`);
        }
        await audit(db, 'user_created', created.id, { email: e, handle, role: r });
        print({ id: created.id, email: e, handle, role: r });
        return 0;
      }
      case 'set-role': {
        const e = email(v.email);
        const r = role(v.role);
        const id = await setRoleByEmail(db, e, r);
        if (!id) throw new UsageError(`no account with e-mail ${e}`);
        const revoked = await revokeUserSessions(db, id);
        await audit(db, 'role_changed', id, { email: e, role: r, sessionsRevoked: revoked });
        print({ id, email: e, role: r, sessionsRevoked: revoked });
        return 0;
      }
      case 'grant':
      case 'revoke': {
        const e = email(v.email);
        if (!v.permission || !/^queue:[a-z0-9_]+$/.test(v.permission)) throw new UsageError('--permission: a queue permission like queue:minor_safety');
        const r = await changePermission(db, e, v.permission, sub === 'grant');
        if (!r) throw new UsageError(`no account with e-mail ${e}`);
        await audit(db, sub === 'grant' ? 'permission_granted' : 'permission_revoked', r.id, { email: e, permission: v.permission });
        print({ id: r.id, email: e, permissions: r.permissions });
        return 0;
      }
      case 'disable':
      case 'enable': {
        const e = email(v.email);
        const id = await setDisabled(db, e, sub === 'disable');
        if (!id) throw new UsageError(`no account with e-mail ${e}`);
        const revoked = sub === 'disable' ? await revokeUserSessions(db, id) : 0;
        await audit(db, sub === 'disable' ? 'user_disabled' : 'user_enabled', id, { email: e, sessionsRevoked: revoked });
        print({ id, email: e, disabled: sub === 'disable' });
        return 0;
      }
      case 'totp-reset': {
        const e = email(v.email);
        const account = await findAccountByEmail(db, e);
        if (!account) throw new UsageError(`no account with e-mail ${e}`);
        const r = await resetTotp(db, account.id, { type: 'system', id: 'cli' });
        print({ id: account.id, email: e, totpReset: r.hadSecret, sessionsRevoked: r.sessionTokenHashes.length });
        return 0;
      }
      case 'list':
        for (const a of await listAccounts(db)) print(a);
        return 0;
      default:
        throw new UsageError('usage: warden users create|set-role|grant|revoke|disable|enable|totp-reset|list [--email E] [--password P|-] [--role R] [--handle H] [--permission P]');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`warden users: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}
