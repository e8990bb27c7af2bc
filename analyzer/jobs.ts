/**
 * The typed job registry: every BullMQ queue Warden uses, its payload and its options, in one place
 * (PeerTube's pattern). Job ids are fixed per payload so a duplicate enqueue is a no-op (BullMQ dedupes by id).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';

/** Payload of each job type. */
export interface JobPayloads {
  /** Score one frame sample with the frame model. */
  'analyze-frame': { sampleId: string };
  /** Transcribe one audio chunk, check its text and watch-list, write its transcript and `speech` signals. */
  'transcribe-audio': { sampleId: string };
  /**
   * Run the policy at one sample of a broadcast and enforce what it decides. `cascade`: the sample has just
   * been analysed, so later samples already evaluated without it are evaluated again.
   */
  'evaluate-sample': { sampleId: string; cascade?: boolean };
}
export type JobType = keyof JobPayloads;

/** Queue name, job id and options per job type. Ids have no colons (BullMQ reserves them). */
export const jobTypes: { [T in JobType]: { queue: string; jobId: (p: JobPayloads[T]) => string; options: JobsOptions } } = {
  'analyze-frame': {
    queue: 'frames',
    jobId: (p) => `frame-${p.sampleId}`,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'transcribe-audio': {
    queue: 'audio',
    jobId: (p) => `audio-${p.sampleId}`,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'evaluate-sample': {
    queue: 'rules',
    // removed on completion so a later re-evaluation (an earlier sample finished late) can reuse the id
    jobId: (p) => `eval-${p.sampleId}`,
    options: { attempts: 8, backoff: { type: 'exponential', delay: 250 }, removeOnComplete: true, removeOnFail: 5000 },
  },
};

/**
 * BullMQ job priority of a broadcast's samples (frames and audio chunks). BullMQ takes jobs without a priority
 * (the plain wait list, first in first out) before any prioritised job, and prioritised ones lowest number first:
 * so `urgent` (no priority) is analysed first, then `normal`. Set by the ingest node's adaptive sampling
 * (ingest/sampling.ts): a broadcast with an open case or a recent score at a rule's threshold is `urgent`.
 */
export const SAMPLE_PRIORITY = { urgent: 0, normal: 1 } as const;
export type SamplePriority = keyof typeof SAMPLE_PRIORITY;

/** A queue's waiting jobs and how long the oldest has waited (ms; 0 when none waits). */
export interface QueueBacklog { waiting: number; oldestAgeMs: number }

/**
 * One round trip: waiting jobs (the wait list plus the prioritised set) and the enqueue time (ms) of the oldest of
 * them: the tail of the wait list, and the head of each priority level in ARGV (BullMQ scores a prioritised job
 * `priority * 2^32 + counter`, as its own getCountsPerPriority reads them). KEYS: wait, prioritized; ARGV[1]: the job
 * key prefix; ARGV[2..]: priority levels. Returns {waiting, oldest timestamp or -1}.
 */
const BACKLOG_SCRIPT = `
local waiting = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
local oldest = -1
local function seen(id)
  if not id then return end
  local t = tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
  if t and (oldest < 0 or t < oldest) then oldest = t end
end
seen(redis.call('LINDEX', KEYS[1], -1))
for i = 2, #ARGV do
  local p = tonumber(ARGV[i])
  seen(redis.call('ZRANGEBYSCORE', KEYS[2], p * 4294967296, (p + 1) * 4294967296 - 1, 'LIMIT', 0, 1)[1])
end
return {waiting, oldest}
`;

/** The queues of one Warden deployment, under one Redis key prefix. */
export class Queues {
  readonly frames: Queue;
  readonly audio: Queue;
  readonly rules: Queue;
  /** The connection itself when the queues were given one (the backlog script runs on it). */
  private readonly redis: Redis | null;
  constructor(connection: ConnectionOptions, readonly prefix: string) {
    this.redis = connection instanceof Redis ? connection : null;
    this.frames = new Queue('frames', { connection, prefix });
    this.audio = new Queue('audio', { connection, prefix });
    this.rules = new Queue('rules', { connection, prefix });
    // the connection reconnects by itself; failures surface on commands and in /readyz (without a listener BullMQ
    // prints every connection error to the console while Redis is away)
    for (const q of [this.frames, this.audio, this.rules]) q.on('error', () => {});
  }

  /** Enqueues a job of a registered type (idempotent per payload). */
  async add<T extends JobType>(type: T, payload: JobPayloads[T], opts: JobsOptions = {}): Promise<void> {
    const spec = jobTypes[type];
    const queue = spec.queue === 'frames' ? this.frames : spec.queue === 'audio' ? this.audio : this.rules;
    await queue.add(type, payload, { ...spec.options, ...opts, jobId: spec.jobId(payload) });
  }

  /** Waiting + active + delayed jobs per queue (for /metrics and the demo). */
  async depth(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const q of [this.frames, this.audio, this.rules]) {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      out[q.name] = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
    }
    return out;
  }

  /**
   * Per queue: jobs waiting to be taken (not the active, delayed or finished ones) and the age of the oldest waiting
   * job (since it was added), for adaptive sampling and /metrics. @throws when Redis does not answer.
   */
  async backlog(): Promise<Record<'frames' | 'audio' | 'rules', QueueBacklog>> {
    const levels = Object.values(SAMPLE_PRIORITY).filter((p) => p > 0);
    const read = async (q: Queue): Promise<QueueBacklog> => {
      if (!this.redis) {
        // given connection options rather than a connection: counts only
        const c = await q.getJobCounts('waiting', 'prioritized');
        return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), oldestAgeMs: 0 };
      }
      const [waiting, oldest] = await this.redis.eval(BACKLOG_SCRIPT, 2, q.keys.wait!, q.keys.prioritized!, q.toKey(''), ...levels) as [number, number];
      return { waiting, oldestAgeMs: oldest < 0 ? 0 : Math.max(0, Date.now() - oldest) };
    };
    const [frames, audio, rules] = await Promise.all([read(this.frames), read(this.audio), read(this.rules)]);
    return { frames, audio, rules };
  }

  async close(): Promise<void> {
    await Promise.all([this.frames.close(), this.audio.close(), this.rules.close()]);
  }
}
