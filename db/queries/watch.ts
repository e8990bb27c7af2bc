/** The viewer watch page: which broadcasts are live, as a viewer may see them (no moderation data, no frames). */
import { desc, eq } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { broadcasts, users } from '../schema.ts';

/** A live broadcast as the watch page lists it. `startedAt`: when the publish was accepted. */
export interface LiveListing { id: string; performerId: string; handle: string; startedAt: Date }

/** Live broadcasts, newest first, at most `limit` (1–500). */
export async function liveBroadcastListings(db: Tx, limit = 100): Promise<LiveListing[]> {
  return db.select({ id: broadcasts.id, performerId: broadcasts.userId, handle: users.handle, startedAt: broadcasts.startedAt })
    .from(broadcasts).innerJoin(users, eq(users.id, broadcasts.userId))
    .where(eq(broadcasts.status, 'live')).orderBy(desc(broadcasts.startedAt)).limit(Math.min(Math.max(limit, 1), 500));
}
