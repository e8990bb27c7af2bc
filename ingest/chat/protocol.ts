/** The chat WebSocket protocol: JSON text frames, one object each. */

/** What a panic press asks for (moderation/alerts.ts `PROTECTIONS`). */
const PROTECTIONS = ['none', 'freeze_chat', 'hide_stream', 'end_broadcast'] as const;

/**
 * Client → server: a chat message, or the room owner's panic button (`protection`: none, freeze_chat,
 * hide_stream, end_broadcast; null when the press names none: the room's saved protection applies). A panic from
 * anyone but the broadcast's performer is refused.
 */
export type ClientMessage =
  | { type: 'message'; text: string }
  | { type: 'panic'; protection: (typeof PROTECTIONS)[number] | null; message: string | null };

/**
 * Why a post was refused before analysis (the sender is told; nothing is stored), or why joining was: a refused
 * WebSocket upgrade answers an HTTP status with `{ error: { code, message } }`, the code one of these
 * (`unauthenticated` 401: no live session; `age_unverified` 403: no attested adult date of birth; `unavailable` 503).
 * `trusted_only`: the room is open to its performer's trusted users only (everyone may still read).
 */
export type RefusalCode =
  | 'unauthenticated' | 'age_unverified' | 'invalid_frame' | 'empty' | 'too_long' | 'rate_limited' | 'slow_mode' | 'duplicate'
  | 'restricted' | 'room_closed' | 'unavailable' | 'forbidden' | 'trusted_only';

/** Server → client. */
export type ServerMessage =
  | { type: 'hello'; room: string; user: string | null; canPost: boolean; maxLength: number }
  | { type: 'message'; id: string; user: string; text: string; at: string }
  | { type: 'ack'; id: string; verdict: 'allow' | 'flag' }
  | { type: 'held'; id: string; message: string }
  | { type: 'blocked'; id: string; message: string; categories: string[]; rules: string[] }
  | { type: 'refused'; code: RefusalCode; message: string; retryAfterMs?: number; until?: string | null }
  | { type: 'restricted'; kind: string; until: string | null; reason: string }
  | { type: 'support'; message: string }
  | { type: 'panic_received'; alertId: string; stored: boolean };

/** Parses a client frame; null when it is not a well-formed message object. */
export function parseClientMessage(data: string): ClientMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.type === 'panic') {
    const protection = o.protection ?? null;
    if (protection !== null && !(PROTECTIONS as readonly unknown[]).includes(protection)) return null;
    if (o.message !== undefined && o.message !== null && (typeof o.message !== 'string' || o.message.length > 500 || /\u0000|[\uD800-\uDFFF]/.test(o.message.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')))) return null;
    return { type: 'panic', protection: protection as (typeof PROTECTIONS)[number] | null, message: (o.message as string | null | undefined) ?? null };
  }
  if (o.type !== 'message' || typeof o.text !== 'string') return null;
  return { type: 'message', text: o.text };
}
