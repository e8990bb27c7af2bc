/** Random secrets (session tokens) and their hashes. Tokens are 32 random bytes, so SHA-256 is the right hash. */
import { createHash, randomBytes } from 'node:crypto';

/** A new random token, base64url (43 characters). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
