/**
 * The viewer age gate's attestation: `POST /api/me/birth-date`. Any signed-in account attests its date of birth
 * once; an adult (18 or older on the day, UTC) is then `adult` in `GET /api/me` and may play streams and join
 * chat. A minor is refused and the date kept, so the account cannot simply try another date.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { attestBirthDate } from '../moderation/index.ts';
import { ADULT_AGE, birthDate } from '../core/age.ts';
import type { ApiRouter } from './route.ts';

/**
 * An expected refusal with its own code (not one of core/errors.ts's), in the API's error shape
 * `{ error: { code, message } }`.
 */
export function refusal(c: Context, status: 403 | 409, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** Declares `POST /me/birth-date` (any signed-in user). */
export function viewerRoutes(router: ApiRouter, deps: { db: Db }): void {
  router.add({
    method: 'post', path: '/me/birth-date', tag: 'auth', access: 'signed-in', status: 201,
    body: z.strictObject({ birthDate }),
    summary: `Attests the account's date of birth, once. ${ADULT_AGE} or older today (UTC): adult from now on (201). Younger: 403 \`underage\`, and the date is kept. `
      + 'A second attestation of any kind: 409 `already_attested`. Audited (never the date itself)',
    response: z.object({ adult: z.literal(true) }),
  }, async ({ c, body, user }) => {
    const r = await attestBirthDate(deps.db, user.userId, body.birthDate);
    if (r.ok) return c.json({ adult: true as const }, 201);
    if (r.reason === 'underage') return refusal(c, 403, 'underage', `you must be ${ADULT_AGE} or older to watch streams and join chat`);
    return refusal(c, 409, 'already_attested', 'a date of birth was already given for this account; contact support to correct it');
  });
}
