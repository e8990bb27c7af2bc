/**
 * The live face check on a broadcast's frames, at a lower rate than the NSFW model (every `everyN`th frame
 * sample by sequence number): face count, the youngest estimated age against the margin, and — when the
 * performer's verification kept a face descriptor — whether each face on camera is the verified performer.
 * A check that fails is recorded as the signal `faces/analysis_failed` (the policy decides what that means),
 * never as "nobody found".
 */
import { errorText } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { unsealDescriptor } from '../../core/sealed.ts';
import { performerFaceReference, type Db } from '../../db/index.ts';
import { faceSignals, type FaceAnalyzer, type FaceReference } from './face-model.ts';

/** One signal row as `recordSignals` takes it. */
export interface FaceSignalRow { analyzer: 'faces'; label: string; score: number; model: string; modelVersion: string; backend: string }

export interface LiveFaceCheckDeps {
  db: Db;
  analyzer: Pick<FaceAnalyzer, 'analyze' | 'model' | 'modelVersion'>;
  /** Face analysis on frame samples whose seq is a multiple of this (≥ 1). */
  everyN: number;
  /** Years under which the youngest face is a possible minor. */
  ageMargin: number;
  /** The verification key (hex) that opens performers' face descriptors; null: no matching. */
  key: string | null;
  /** Descriptor distance at or under which a face is the performer. */
  matchMaxDistance: number;
  /** TensorFlow.js backend name recorded with the signals. */
  backend: string;
  logger: Logger;
  /** How long a performer's reference is cached per broadcast (ms). Default 60 s. */
  referenceTtlMs?: number;
}

export class LiveFaceCheck {
  private readonly references = new Map<string, { ref: FaceReference | null; at: number }>();
  constructor(private readonly deps: LiveFaceCheckDeps) {}

  /** Whether a frame sample with this sequence number gets a face check. */
  due(seq: number): boolean {
    return this.deps.everyN > 0 && seq % this.deps.everyN === 0;
  }

  /**
   * The face signals of one frame of a broadcast.
   * @returns rows for `recordSignals`; on failure, one `analysis_failed` row (and the error is logged).
   */
  async check(sample: { id: string; broadcastId: string }, image: Buffer): Promise<FaceSignalRow[]> {
    const { analyzer } = this.deps;
    const row = (label: string, score: number): FaceSignalRow => ({ analyzer: 'faces', label, score, model: analyzer.model, modelVersion: analyzer.modelVersion, backend: this.deps.backend });
    try {
      const reference = await this.reference(sample.broadcastId);
      const result = await analyzer.analyze(image, { descriptors: reference !== null });
      return Object.entries(faceSignals(result, this.deps.ageMargin, reference)).map(([label, score]) => row(label, score));
    } catch (err) {
      this.deps.logger.error({ sampleId: sample.id, broadcastId: sample.broadcastId, err: errorText(err) }, 'face analysis failed');
      return [row('analysis_failed', 1)];
    }
  }

  /** The broadcast's performer's face on record, cached for a minute (a new verification applies within it). */
  private async reference(broadcastId: string): Promise<FaceReference | null> {
    const now = Date.now();
    const hit = this.references.get(broadcastId);
    if (hit && now - hit.at < (this.deps.referenceTtlMs ?? 60_000)) return hit.ref;
    let ref: FaceReference | null = null;
    const stored = this.deps.key ? await performerFaceReference(this.deps.db, broadcastId) : null;
    if (stored && this.deps.key) {
      // a descriptor that does not open (key rotated, row altered) throws: recorded as a failed check, not as "matched"
      const descriptor = unsealDescriptor(this.deps.key, stored.sealed, `verification:${stored.verificationId}:descriptor`);
      ref = { descriptor, maxDistance: this.deps.matchMaxDistance };
    }
    if (this.references.size > 10_000) this.references.clear(); // one entry per live broadcast; bounded
    this.references.set(broadcastId, { ref, at: now });
    return ref;
  }
}
