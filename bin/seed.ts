/** Seeding performers for the demo and tests: a user, optionally an approved verification, and a fresh stream key. */
import { insertStreamKey, insertVerification, upsertUser, type Db } from '../db/index.ts';
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
