// Recognising an unavailable database or Redis from the errors postgres.js, drizzle and ioredis throw.
import { describe, expect, it } from 'vitest';
import { WardenError, isDatabaseUnavailable, isRedisUnavailable } from './errors.ts';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
/** As drizzle wraps a driver error. */
const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: select 1\nparams: '), { cause });

describe('isDatabaseUnavailable', () => {
  it('recognises connection failures, directly and wrapped by drizzle', () => {
    for (const e of [
      coded('write CONNECTION_CLOSED 127.0.0.1:5432', 'CONNECTION_CLOSED'), coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      coded('read ECONNRESET', 'ECONNRESET'), coded('write CONNECT_TIMEOUT', 'CONNECT_TIMEOUT'),
      coded('terminating connection due to administrator command', '57P01'), coded('the database system is starting up', '57P03'),
      coded('connection failure', '08006'), new WardenError('unavailable', 'cannot reach PostgreSQL at postgres://x: refused'),
    ]) {
      expect(isDatabaseUnavailable(e), e.message).toBe(true);
      expect(isDatabaseUnavailable(wrapped(e)), `wrapped ${e.message}`).toBe(true);
    }
  });

  it('does not mistake a refused query, a bug, Redis or a failed fetch for it', () => {
    for (const e of [
      coded('duplicate key value violates unique constraint', '23505'), coded('syntax error', '42601'), new TypeError('x is undefined'),
      new WardenError('unavailable', 'cannot reach Redis at redis://x'), new WardenError('not_found', 'no such case'),
      Object.assign(new TypeError('fetch failed'), { cause: coded('connect ECONNREFUSED 10.0.0.1:443', 'ECONNREFUSED') }), 'a string', null,
    ]) expect(isDatabaseUnavailable(e), String(e)).toBe(false);
  });
});

describe('isRedisUnavailable', () => {
  it('recognises ioredis giving up and closed connections, nothing else', () => {
    expect(isRedisUnavailable(Object.assign(new Error('Reached the max retries per request limit (which is 3).'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(isRedisUnavailable(coded('read ECONNRESET', 'ECONNRESET'))).toBe(false);
  });
});
