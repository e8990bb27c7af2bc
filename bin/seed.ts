/** Seeding performers for the demo and tests: a user, optionally an approved verification, and a fresh stream key. */
import { insertSession, insertStreamKey, insertVerification, upsertUser, type Db, type Role } from '../db/index.ts';
import { hashToken, randomToken } from '../core/tokens.ts';
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

/**
 * Creates (or reuses, by handle) a user with a new session, as a login would (the login flow arrives with the
 * review console). @returns the user id and the session token (the `warden_session` cookie's value).
 */
export async function seedSession(db: Db, handle: string, role: Role = 'viewer', ttlMs = 12 * 3600_000): Promise<{ userId: string; token: string }> {
  const { id: userId } = await upsertUser(db, { handle, role });
  const token = randomToken();
  await insertSession(db, { userId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + ttlMs) });
  return { userId, token };
}
