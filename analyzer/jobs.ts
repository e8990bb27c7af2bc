/**
 * The typed job registry: every BullMQ queue Warden uses, its payload and its options, in one place
 * (PeerTube's pattern). Job ids are fixed per payload so a duplicate enqueue is a no-op (BullMQ dedupes by id).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

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

/** The queues of one Warden deployment, under one Redis key prefix. */
export class Queues {
  readonly frames: Queue;
  readonly audio: Queue;
  readonly rules: Queue;
  constructor(connection: ConnectionOptions, readonly prefix: string) {
    this.frames = new Queue('frames', { connection, prefix });
    this.audio = new Queue('audio', { connection, prefix });
    this.rules = new Queue('rules', { connection, prefix });
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

  async close(): Promise<void> {
    await Promise.all([this.frames.close(), this.audio.close(), this.rules.close()]);
  }
}
