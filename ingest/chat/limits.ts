/**
 * The per-message gate in Redis, one round trip (a Lua script), shared by every node: a room frozen by the
 * performer's panic alert, restrictions (ban, timeout, mute) platform-wide and in the room, slow mode, duplicate text, and burst and sustained rate
 * limits (fixed windows starting at the first message).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChatPolicy } from '../../rules/index.ts';
import { frozenRoomKey, restrictionKey, type Restriction } from '../../moderation/index.ts';

const script = `
local r = redis.call('GET', KEYS[7])
if r then return {'restricted', r} end
r = redis.call('GET', KEYS[1])
if r then return {'restricted', r} end
r = redis.call('GET', KEYS[2])
if r then return {'restricted', r} end
if tonumber(ARGV[5]) > 0 and redis.call('EXISTS', KEYS[5]) == 1 then return {'slow_mode', tostring(redis.call('PTTL', KEYS[5]))} end
if tonumber(ARGV[6]) > 0 and redis.call('EXISTS', KEYS[6]) == 1 then return {'duplicate', tostring(redis.call('PTTL', KEYS[6]))} end
local b = redis.call('INCR', KEYS[3])
if b == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
local s = redis.call('INCR', KEYS[4])
if s == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[4]) end
if b > tonumber(ARGV[1]) then return {'rate_limited', tostring(redis.call('PTTL', KEYS[3]))} end
if s > tonumber(ARGV[3]) then return {'rate_limited', tostring(redis.call('PTTL', KEYS[4]))} end
if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[5], '1', 'PX', ARGV[5]) end
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[6], '1', 'PX', ARGV[6]) end
return {'ok', ''}
`;

/** The gate's answer for one message. */
export type GateAnswer =
  | { ok: true }
  | { ok: false; code: 'restricted'; restriction: Restriction }
  | { ok: false; code: 'slow_mode' | 'duplicate' | 'rate_limited'; retryAfterMs: number };

export class ChatLimits {
  constructor(private readonly redis: Redis, private readonly prefix: string) {
    redis.defineCommand('wardenChatGate', { numberOfKeys: 7, lua: script });
  }

  /**
   * Checks and counts one message.
   * @param normalizedText the analyzer's normalised text (duplicates are compared on it, so evasions collide).
   */
  async check(userId: string, ownerId: string, normalizedText: string, chat: ChatPolicy, slowModeS: number): Promise<GateAnswer> {
    const p = this.prefix;
    const dup = createHash('sha1').update(normalizedText.toLowerCase()).digest('base64url');
    const keys = [
      restrictionKey(p, 'platform', userId), restrictionKey(p, `room:${ownerId}`, userId),
      `${p}:rl:burst:${userId}`, `${p}:rl:sustained:${userId}`, `${p}:slow:${ownerId}:${userId}`, `${p}:dup:${userId}:${dup}`,
      frozenRoomKey(p, ownerId),
    ];
    const args = [chat.rateLimit.burst.count, chat.rateLimit.burst.perMs, chat.rateLimit.sustained.count, chat.rateLimit.sustained.perMs, slowModeS * 1000, chat.duplicateWithinMs];
    const [code, value] = await (this.redis as Redis & { wardenChatGate(...a: (string | number)[]): Promise<[string, string]> }).wardenChatGate(...keys, ...args);
    if (code === 'ok') return { ok: true };
    if (code === 'restricted') return { ok: false, code, restriction: JSON.parse(value) as Restriction };
    return { ok: false, code: code as 'slow_mode' | 'duplicate' | 'rate_limited', retryAfterMs: Math.max(0, Number(value)) };
  }
}
