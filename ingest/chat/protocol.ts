/** The chat WebSocket protocol: JSON text frames, one object each. */

/** Client → server. */
export interface ClientMessage { type: 'message'; text: string }

/** Why a post was refused before analysis (the sender is told; nothing is stored). */
export type RefusalCode =
  | 'unauthenticated' | 'invalid_frame' | 'empty' | 'too_long' | 'rate_limited' | 'slow_mode' | 'duplicate'
  | 'restricted' | 'room_closed' | 'unavailable';

/** Server → client. */
export type ServerMessage =
  | { type: 'hello'; room: string; user: string | null; canPost: boolean; maxLength: number }
  | { type: 'message'; id: string; user: string; text: string; at: string }
  | { type: 'ack'; id: string; verdict: 'allow' | 'flag' }
  | { type: 'held'; id: string; message: string }
  | { type: 'blocked'; id: string; message: string; categories: string[]; rules: string[] }
  | { type: 'refused'; code: RefusalCode; message: string; retryAfterMs?: number; until?: string | null }
  | { type: 'restricted'; kind: string; until: string | null; reason: string }
  | { type: 'support'; message: string };

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
  if (o.type !== 'message' || typeof o.text !== 'string') return null;
  return { type: 'message', text: o.text };
}
