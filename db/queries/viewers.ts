/**
 * Viewers: the attested date of birth behind the viewer age gate, and the restrictions that stop a viewer
 * playing a performer's stream.
 */
import { and, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { bans, users, type Role } from '../schema.ts';

/**
 * A user's standing at the age gate.
 * `adult`: attested a date of birth 18 or more years before the day of attesting; `attested`: gave a date of birth
 * at all (an adult's, or a minor's that was refused and kept so it cannot be retried).
 */
export interface ViewerStanding { userId: string; handle: string; role: Role; adult: boolean; attested: boolean }

/** A user's age-gate standing. @returns undefined for an unknown user. */
export async function viewerStanding(db: Tx, userId: string): Promise<ViewerStanding | undefined> {
  const [row] = await db.select({ userId: users.id, handle: users.handle, role: users.role, birthDate: users.birthDate, ageAttestedAt: users.ageAttestedAt })
    .from(users).where(eq(users.id, userId)).limit(1);
  if (!row) return undefined;
  return { userId: row.userId, handle: row.handle, role: row.role, adult: row.ageAttestedAt !== null, attested: row.birthDate !== null };
}

/**
 * Stores a user's attested date of birth, once: `attestedAt` is the time of the attestation when it showed an
 * adult, null when it showed a minor (the date is kept all the same, so another date cannot be tried).
 * @param birthDate `YYYY-MM-DD`.
 * @returns false when the user already gave a date of birth (or does not exist): nothing changed.
 */
export async function recordBirthDate(db: Tx, userId: string, birthDate: string, attestedAt: Date | null): Promise<boolean> {
  const rows = await db.update(users).set({ birthDate, ageAttestedAt: attestedAt })
    .where(and(eq(users.id, userId), isNull(users.birthDate))).returning({ id: users.id });
  return rows.length === 1;
}

/**
 * Active bans and suspensions that stop a user playing a stream in a performer's room: platform-wide ones and
 * the room's own (`room:<ownerId>`). Timeouts and mutes restrict chat only and are not returned.
 */
export async function playRestrictions(db: Tx, userId: string, ownerId: string): Promise<{ kind: string; scope: string; expiresAt: Date | null }[]> {
  return db.select({ kind: bans.kind, scope: bans.scope, expiresAt: bans.expiresAt }).from(bans).where(and(
    eq(bans.userId, userId), inArray(bans.kind, ['ban', 'suspension']), isNull(bans.liftedAt), sql`${bans.startsAt} <= now()`,
    or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`)),
    or(eq(bans.scope, 'platform'), eq(bans.scope, `room:${ownerId}`))));
}
