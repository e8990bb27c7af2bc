/**
 * Time-based one-time passwords (TOTP, RFC 6238) for two-factor sign-in, through the `otpauth` package:
 * HMAC-SHA1, 6 digits, 30-second steps (what every authenticator app supports). A secret is 20 random bytes
 * (160 bits, RFC 4226 §4's recommendation), shown to the user in base32 and in an `otpauth://` URL (the QR code).
 *
 * A code is accepted for the current step and one step either side (clock drift and typing time: RFC 6238 §5.2),
 * and never twice: the verifier is given the last step it accepted and refuses that step and any before it
 * (the caller stores the new step atomically, db/queries/account-security.ts `acceptTotpStep`).
 *
 * Secrets are kept sealed (AES-256-GCM, core/sealed.ts) under the data key, bound to `totp:<user id>`.
 */
import { timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { WardenError } from './errors.ts';
import { seal, unseal } from './sealed.ts';

/** Step length (seconds), digits and the window of steps either side that are accepted. */
export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
export const TOTP_WINDOW = 1;
const ISSUER = 'Warden';

/** A new random secret, base32 (32 characters, 20 bytes). */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpOf(secret: string, label = 'account'): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** The `otpauth://totp/Warden:<label>?secret=…&issuer=Warden&…` URL authenticator apps read (from a QR code). */
export function otpauthUrl(secret: string, label: string): string {
  return totpOf(secret, label).toString();
}

/** The TOTP time step of an instant (ms since the epoch): whole 30-second periods since 1970. */
export function totpStep(at = Date.now()): number {
  return Math.floor(at / 1000 / TOTP_PERIOD_S);
}

/**
 * The code of `secret` at an instant (default now): what the user's app shows. For tests, the demo and scripted
 * clients; `totpCode(secret, Date.now() + 30_000)` is the next step's code (accepted once the current one is used).
 */
export function totpCode(secret: string, at = Date.now()): string {
  return totpOf(secret).generate({ timestamp: at });
}

/** Why a code was refused: not a code of this secret in the window, or a step already used. */
export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' };

/**
 * Checks a code against a secret at `at` (±{@link TOTP_WINDOW} steps). Of the steps in the window whose code
 * matches, the latest is taken; a match only at or before `lastStep` is a replay. Comparisons are constant-time.
 * @param code what the user typed (spaces ignored).
 * @param lastStep the last step accepted for this secret (null: none yet).
 */
export function checkTotp(secret: string, code: string, lastStep: number | null, at = Date.now()): TotpCheck {
  const typed = Buffer.from(code.replace(/\s+/g, ''), 'utf8');
  const now = totpStep(at);
  let matched: number | null = null;
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    const expected = Buffer.from(totpCode(secret, step * TOTP_PERIOD_S * 1000), 'utf8');
    if (typed.length === expected.length && timingSafeEqual(typed, expected)) matched = step; // keep looping: constant work
  }
  if (matched === null) return { ok: false, reason: 'invalid' };
  if (lastStep !== null && matched <= lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step: matched };
}

/** The sealing context of a user's secret. */
export const totpSealContext = (userId: string) => `totp:${userId}`;

function requireKey(dataKey: string | null | undefined): string {
  if (!dataKey) throw new WardenError('unavailable', 'two-factor sign-in is not available: the server has no data key (set DATA_KEY, 64 hex digits) to keep TOTP secrets encrypted');
  return dataKey;
}

/**
 * Seals a secret for `users.totp_secret` (base64). @throws WardenError 503 `unavailable` without a data key.
 */
export function sealTotpSecret(dataKey: string | null | undefined, userId: string, secret: string): string {
  return seal(requireKey(dataKey), Buffer.from(secret, 'utf8'), totpSealContext(userId)).toString('base64');
}

/**
 * Opens a sealed secret. @throws WardenError 503 `unavailable` without a data key; SealError when it does not open
 * (another key or another user's row).
 */
export function unsealTotpSecret(dataKey: string | null | undefined, userId: string, sealed: string): string {
  return unseal(requireKey(dataKey), Buffer.from(sealed, 'base64'), totpSealContext(userId)).toString('utf8');
}
