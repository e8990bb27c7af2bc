/**
 * Password hashing with argon2id (`@node-rs/argon2`), with the minimum parameters of the OWASP Password Storage
 * Cheat Sheet (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html: m = 19456 KiB
 * = 19 MiB, t = 2, p = 1), and the password policy (NIST SP 800-63B §5.1.1.2: length, not composition rules;
 * at least 12 characters here, at most 256, counted in Unicode code points).
 */
import { hash, verify, Algorithm } from '@node-rs/argon2';

const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Why a password is refused (a sentence for the user), or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}

/** An argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$…`). */
export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/**
 * A real argon2id hash with the same parameters, of a random password nobody knows. Verifying against it costs
 * what a real check costs, and it is a constant, so no request pays for building it (the first request for an
 * unknown e-mail would otherwise take twice as long).
 */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$z3rDfV1mLWuPmbuamKnf+g$JrMzJti+yB+nqsJ1+y32Z7MuPQHZiN+ZtL5tm5HuEQc';

/**
 * Checks a password against a stored hash (PHC string). With no hash (unknown account, or one without a
 * password) it still verifies against a dummy hash, so the time taken does not reveal whether the account
 * exists. Never throws: a malformed hash is a mismatch.
 */
export async function verifyPassword(stored: string | null | undefined, password: string): Promise<boolean> {
  if (!stored) {
    await verify(DUMMY_HASH, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}
