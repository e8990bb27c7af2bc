/** Stream keys: random secrets shown to the performer once; Warden stores only their SHA-256 hash. */
import { createHash, randomBytes } from 'node:crypto';

/** Characters of a key kept in clear (in the database, logs and UI) to tell keys apart. */
export const KEY_PREFIX_LENGTH = 10;

/** A new stream key: `wk_` + 32 random bytes in base64url (fits RTMP stream names: letters, digits, _ and -). */
export function generateStreamKey(): string {
  return `wk_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 of a stream key, hex. Keys are high-entropy random secrets, so a fast hash is the right one. */
export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The part of a key safe to show and log. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH);
}
