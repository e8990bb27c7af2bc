// The ingest's retrying writer: order within a lane, independence of lanes, retries while a store is unavailable,
// a bounded lane, a failing write that cannot block its lane, and flush.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RetryWriter } from './retry-writer.ts';

const logger = pino({ level: 'silent' });
const outage = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('RetryWriter', () => {
  it('keeps order within a lane while the store is away and lands everything once it is back', async () => {
    const w = new RetryWriter({ logger, minDelayMs: 5, maxDelayMs: 20 });
    let up = false;
    const landed: string[] = [];
    const write = (label: string) => async () => {
      if (!up) throw outage();
      landed.push(label);
    };
    const done = ['a1', 'a2', 'a3'].map((l) => w.submit('a', l, write(l)));
    expect(w.pending).toBe(3);
    await tick(50);
    expect(landed).toEqual([]);
    up = true;
    expect(await Promise.all(done)).toEqual([true, true, true]);
    expect(landed).toEqual(['a1', 'a2', 'a3']);
    expect(w.pending).toBe(0);
  });

  it('lets other lanes go on while one waits', async () => {
    const w = new RetryWriter({ logger, minDelayMs: 5, maxDelayMs: 20 });
    let bUp = false;
    const landed: string[] = [];
    void w.submit('b', 'b1', async () => { if (!bUp) throw outage(); landed.push('b1'); });
    await w.submit('c', 'c1', async () => { landed.push('c1'); });
    expect(landed).toEqual(['c1']);
    bUp = true;
    await w.flush(1000);
    expect(landed).toEqual(['c1', 'b1']);
  });

  it('drops a write that fails for another reason after 3 tries, so its lane goes on', async () => {
    const dropped: string[] = [];
    const w = new RetryWriter({ logger, minDelayMs: 1, maxDelayMs: 2, onDrop: (l, why) => dropped.push(`${l}:${why}`) });
    let tries = 0;
    const bad = w.submit('d', 'bad', async () => { tries++; throw new Error('syntax error at or near'); });
    const good = w.submit('d', 'good', async () => {});
    expect(await bad).toBe(false);
    expect(await good).toBe(true);
    expect(tries).toBe(3);
    expect(dropped).toEqual(['bad:failed']);
  });

  it('bounds a lane: past the limit the oldest waiting write is dropped', async () => {
    const dropped: string[] = [];
    const w = new RetryWriter({ logger, maxPerLane: 3, minDelayMs: 1000, onDrop: (l, why) => dropped.push(`${l}:${why}`) });
    const first = w.submit('e', 'e1', async () => { throw outage(); });
    await tick(); // e1 failed and waits for its retry
    for (const l of ['e2', 'e3', 'e4']) void w.submit('e', l, async () => { throw outage(); });
    expect(await first).toBe(false);
    expect(dropped).toEqual(['e1:full']);
    expect(w.pending).toBe(3);
    expect(await w.flush(50)).toBe(3); // still away: reported as lost at shutdown
  });
});
