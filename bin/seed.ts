/** Seeding performers for the demo and tests: a user, optionally an approved verification, and a fresh stream key. */
import { acceptTotpStep, accountSecurity, createAccount, findAccountByEmail, insertSession, setPendingTotpSecret, insertStreamKey, insertVerification, recordBirthDate, upsertUser, type Db, type Role } from '../db/index.ts';
import { hashPassword } from '../core/passwords.ts';
import { hashToken, randomToken } from '../core/tokens.ts';
import { generateTotpSecret, sealTotpSecret, unsealTotpSecret } from '../core/totp.ts';
import { generateStreamKey, hashStreamKey, keyPrefix } from '../ingest/index.ts';

/**
 * Creates (or reuses, by handle) a performer and gives them a new stream key.
 * @param verified true: an approved verification valid for a year is recorded.
 * @returns the user id and the plaintext key (shown once; only its hash is stored).
 */
export async function seedPerformer(db: Db, handle: string, opts: { verified: boolean }): Promise<{ userId: string; streamKey: string }> {
  return db.transaction(async (tx) => {
    const { id: userId } = await upsertUser(tx, { handle, role: 'performer' });
    if (opts.verified) await insertVerification(tx, { userId, status: 'approved', expiresAt: new Date(Date.now() + 365 * 86_400_000), method: 'seed' });
    const streamKey = generateStreamKey();
    await insertStreamKey(tx, { userId, keyHash: hashStreamKey(streamKey), keyPrefix: keyPrefix(streamKey), label: 'seeded' });
    return { userId, streamKey };
  });
}

/** The date of birth seeded accounts attest (an adult's). */
const SEED_BIRTH_DATE = '1990-01-01';

/**
 * Creates (or reuses, by handle) a user with a new session, as a sign-in would, without a password (tests and
 * the demo's scripted clients). The user has attested an adult date of birth (the viewer age gate) unless
 * `opts.adult` is false (a user who has not attested yet; an earlier attestation of a reused user stays).
 * @param opts the session's lifetime in ms (default 12 h), or `{ ttlMs, adult }`.
 * @returns the user id and the session token (the `warden_session` cookie's value).
 */
export async function seedSession(db: Db, handle: string, role: Role = 'viewer', opts: number | { ttlMs?: number; adult?: boolean } = {}): Promise<{ userId: string; token: string }> {
  const { ttlMs = 12 * 3600_000, adult = true } = typeof opts === 'number' ? { ttlMs: opts } : opts;
  const { id: userId } = await upsertUser(db, { handle, role });
  if (adult) await recordBirthDate(db, userId, SEED_BIRTH_DATE, new Date()); // no-op when already given
  const token = randomToken();
  await insertSession(db, { userId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + ttlMs) });
  return { userId, token };
}

/**
 * Creates an account that signs in with e-mail and password (argon2id), or returns the existing one with that
 * e-mail (the password is then left as it is).
 * @param a.totp two-factor sign-in on, with a new random secret or the given base32 `secret` (the demo's known
 *   one), sealed under `a.dataKey` (required then); an existing account keeps a secret it already has.
 * @returns the user id and, with `totp`, the base32 secret (compute codes with core/totp.ts `totpCode`).
 */
export async function seedAccount(db: Db, a: { email: string; password: string; role: Role; handle?: string; totp?: boolean | { secret: string }; dataKey?: string | null }): Promise<{ userId: string; totpSecret?: string }> {
  const existing = await findAccountByEmail(db, a.email);
  let userId = existing?.id;
  if (!userId) {
    const created = await createAccount(db, { email: a.email, handle: a.handle ?? a.email.split('@')[0]!, role: a.role, passwordHash: await hashPassword(a.password) });
    if (!created) throw new Error(`could not create ${a.email}: handle taken`);
    userId = created.id;
  }
  if (!a.totp) return { userId };
  if (!a.dataKey) throw new Error('seedAccount: totp needs the data key (config.dataKey) to seal the secret');
  const current = await accountSecurity(db, userId);
  if (current?.totpSecret && current.totpEnabledAt) return { userId, totpSecret: unsealTotpSecret(a.dataKey, userId, current.totpSecret) };
  const secret = typeof a.totp === 'object' ? a.totp.secret : generateTotpSecret();
  await setPendingTotpSecret(db, userId, sealTotpSecret(a.dataKey, userId, secret));
  await acceptTotpStep(db, userId, 0, { enable: true }); // on, no step used yet
  return { userId, totpSecret: secret };
}
