/**
 * Sign-in throttling: failed sign-ins counted per account and per client IP in Redis (so every API node shares
 * the counts), in a fixed window that starts at the first failure. Over either limit a sign-in is refused with
 * 429 before any password is checked, so a locked account costs no argon2 work (OWASP Authentication Cheat
 * Sheet, "Protect against automated attacks").
 *
 * An attempt is counted when it starts, atomically with the limit check (one Lua script), not after the
 * password check: otherwise a burst of parallel guesses would all pass the check before the first failure is
 * counted and overrun the limit. A successful sign-in takes its attempt back (and clears the account's count).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WardenError } from '../core/errors.ts';

/** A 429 that says when to try again; the API's error handler sends it as `Retry-After` (seconds). */
export class RateLimited extends WardenError {
  constructor(message: string, readonly retryAfterS: number) {
    super('rate_limited', message);
  }
}

/** The limits: failures allowed per account and per IP within `windowMs` (config.auth). */
export interface LoginLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  loginWindowMs: number;
}

// KEYS: account counter, IP counter. ARGV: account limit, IP limit, window (ms).
// Returns {0} when the attempt is counted, or {1|2, pttl} when the account (1) or the IP (2) is at its limit.
const BEGIN = `
local a = tonumber(redis.call('GET', KEYS[1]) or '0')
if a >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1])} end
local i = tonumber(redis.call('GET', KEYS[2]) or '0')
if i >= tonumber(ARGV[2]) then return {2, redis.call('PTTL', KEYS[2])} end
for _, k in ipairs(KEYS) do
  redis.call('INCR', k)
  if redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, ARGV[3]) end
end
return {0}`;

// KEYS: account counter, IP counter. ARGV[1]: '1' to clear the account's count (success), '0' to take one back.
// Never creates a key (a DECR on an expired key would leave -1 without expiry).
const RELEASE = `
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
for i, k in ipairs(KEYS) do
  if not (i == 1 and ARGV[1] == '1') then
    local v = tonumber(redis.call('GET', k) or '0')
    if v > 0 then redis.call('DECR', k) end
  end
end
return 0`;

/** Per-account and per-IP sign-in throttle (see the module comment). */
export class LoginThrottle {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly limits: LoginLimits) {}

  /** Redis keys; the account is keyed by a hash of its (lower-cased) e-mail, not the address itself. */
  private keys(email: string, ip: string): [string, string] {
    const acct = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return [`${this.prefix}:login:acct:${acct}`, `${this.prefix}:login:ip:${ip}`];
  }

  /**
   * Counts a sign-in attempt as a failure until {@link succeeded} or {@link cancel} says otherwise.
   * @throws RateLimited (429) when the account or the IP is at its limit; nothing is counted then.
   */
  async begin(email: string, ip: string): Promise<void> {
    const l = this.limits;
    const [which, pttl] = (await this.redis.eval(BEGIN, 2, ...this.keys(email, ip), l.maxFailuresPerAccount, l.maxFailuresPerIp, l.loginWindowMs)) as [number, number?];
    if (which === 0) return;
    const retryAfterS = Math.max(1, Math.ceil(Number(pttl) / 1000));
    throw new RateLimited(which === 1 ? 'too many failed sign-ins for this account; try again later' : 'too many failed sign-ins from this address; try again later', retryAfterS);
  }

  /** The attempt signed in: the account's failures are cleared and the IP's count takes this attempt back. */
  async succeeded(email: string, ip: string): Promise<void> {
    await this.redis.eval(RELEASE, 2, ...this.keys(email, ip), '1');
  }

  /** The attempt ended without an answer (e.g. the database failed): it is not counted as a failure. */
  async cancel(email: string, ip: string): Promise<void> {
    await this.redis.eval(RELEASE, 2, ...this.keys(email, ip), '0');
  }
}

// KEYS: counter. ARGV: limit, window (ms). Returns {0} when counted, {1, pttl} when at the limit (not counted).
const HIT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1])} end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {0}`;

/**
 * A fixed-window counter in Redis for other guessable or abusable requests (sign-ups per IP, password-reset
 * requests per address and per IP): each call counts one use under `name`/`key`, atomically with the check.
 * Keys are hashed, so no address or e-mail is kept in Redis in the clear.
 */
export class RateCounter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(name: string, key: string): string {
    return `${this.prefix}:rate:${name}:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
  }

  /**
   * Counts one use. @returns 0 when allowed, or the milliseconds until the window ends when `limit` uses were
   * already counted (this one is then not counted).
   */
  async hit(name: string, key: string, limit: number, windowMs: number): Promise<number> {
    const [over, pttl] = (await this.redis.eval(HIT, 1, this.key(name, key), limit, windowMs)) as [number, number?];
    return over === 0 ? 0 : Math.max(1, Number(pttl));
  }

  /**
   * Like {@link hit}, but over the limit throws.
   * @throws RateLimited (429, Retry-After) with `message`.
   */
  async take(name: string, key: string, limit: number, windowMs: number, message: string): Promise<void> {
    const waitMs = await this.hit(name, key, limit, windowMs);
    if (waitMs > 0) throw new RateLimited(message, Math.ceil(waitMs / 1000));
  }
}
