/**
 * The `transcribe-audio` job: transcribe one audio chunk (free decoding + keyword search for the policy's
 * spoken watch-list), run the transcript through the text checks, and store the transcript with its
 * findings and the chunk's `speech` signals in one transaction; then queue its rules evaluation.
 * Idempotent: a chunk already transcribed (or failed) is not transcribed again; a retry only re-queues the
 * evaluation. An unreadable or undecodable chunk marks the sample failed; a missing engine fails the job
 * (retried with back-off) so nothing is silently skipped.
 *
 * Shedding: a chunk of a broadcast without priority (its job has a BullMQ priority, analyzer/jobs.ts
 * `SAMPLE_PRIORITY`) that waited in the queue longer than `maxWaitMs` is not transcribed: it is marked `skipped` with
 * the reason (counted in `warden_samples_shed_total{kind="audio",reason="stale"}`), so a backlog left by a burst (or by
 * another ingest node) drains instead of keeping transcription minutes behind live. Urgent broadcasts' chunks (no
 * priority) wait longer, up to `maxWaitUrgentMs`: their speech is evidence for an open case or a recent high score, so
 * it is transcribed late rather than not at all, but not without bound. PocketSphinx runs at the lowest CPU priority
 * and gets nothing while frames take every core, and the ingest node always keeps at least one broadcast's speech
 * transcribed, so without this bound that broadcast's chunks would pile up for as long as the load lasts (42 minutes
 * behind live was seen in a capacity run). A skipped chunk keeps its audio file. The ingest node sheds most chunks
 * before they are queued (ingest/sampling.ts).
 */
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { errorText } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import { getSample, markSampleFailed, markSampleSkipped, recordTranscript, type Db } from '../../db/index.ts';
import { SPEECH_ANALYZER, speechScores, type Policy } from '../../rules/index.ts';
import { speechFindings } from '../audio/findings.ts';
import type { Transcriber, Transcript } from '../audio/pocketsphinx.ts';
import type { TextAnalyzer } from '../text/index.ts';
import type { JobPayloads, Queues } from '../jobs.ts';

export interface TranscribeDeps {
  db: Db;
  queues: Queues;
  /** Absolute data directory; sample paths are relative to it. */
  dataDir: string;
  transcriber: Transcriber;
  analyzer: TextAnalyzer;
  /** The policy in force (its watch-list is spotted); a function so a reloaded policy applies to the next chunk. */
  policy: () => Policy;
  metrics: Metrics;
  logger: Logger;
  /** A chunk of a broadcast without priority (a job with a BullMQ priority) that waited longer than this (ms) is skipped (default: never). */
  maxWaitMs?: number;
  /** A chunk of an urgent broadcast (a job without a BullMQ priority) that waited longer than this (ms) is skipped (default: never). */
  maxWaitUrgentMs?: number;
}

/** Errors that are the chunk's fault (retrying cannot help), as the transcriber words them. */
const BAD_INPUT = /^cannot (read|decode) /;

/** Builds the processor function for the `audio` queue. */
export function createTranscribeProcessor(deps: TranscribeDeps) {
  const { db, queues, transcriber, analyzer, metrics, logger } = deps;
  let checkedFor: Policy | undefined;
  return async function processTranscription(job: Job<JobPayloads['transcribe-audio']>): Promise<void> {
    const sample = await getSample(db, job.data.sampleId);
    if (!sample) throw new UnrecoverableError(`no sample ${job.data.sampleId}`);
    if (sample.kind !== 'audio') throw new UnrecoverableError(`sample ${sample.id} is a ${sample.kind}, not audio`);
    const waitedMs = Date.now() - job.timestamp;
    const urgent = !((job.opts.priority ?? 0) > 0);
    const maxWaitMs = urgent ? deps.maxWaitUrgentMs : deps.maxWaitMs;
    if (sample.status === 'queued' && maxWaitMs !== undefined && waitedMs > maxWaitMs) {
      const bound = `more than ${Math.round(maxWaitMs / 1000)} s${urgent ? ', the bound for an urgent broadcast' : ''}`;
      const reason = `stale: waited ${Math.round(waitedMs / 1000)} s in the audio queue (${bound}); not transcribed`;
      if (await markSampleSkipped(db, sample.id, reason)) metrics.samplesShed.inc({ kind: 'audio', reason: 'stale' });
      logger.info({ sampleId: sample.id, broadcastId: sample.broadcastId, waitedS: Math.round(waitedMs / 1000), urgent }, 'audio chunk skipped: waited too long');
      return;
    }
    if (sample.status === 'queued') {
      const policy = deps.policy();
      if (checkedFor !== policy) {
        checkedFor = policy;
        const unknown = await transcriber.unknownWords(policy.speech.watchList.map((w) => w.phrase));
        if (unknown.length) logger.warn({ words: unknown, engine: transcriber.engine }, 'watch-list words the recogniser does not know: phrases with them are never spotted');
      }
      const started = Date.now();
      let transcript: Transcript;
      try {
        // filePath is written by the tap from ids and sequence numbers, never from user input
        transcript = await transcriber.transcribe(path.join(deps.dataDir, sample.filePath), { keyphrases: policy.speech.watchList });
      } catch (err) {
        const message = errorText(err);
        if (!BAD_INPUT.test(message)) throw err;
        await markSampleFailed(db, sample.id, message);
        metrics.analysisFailures.inc({ analyzer: SPEECH_ANALYZER });
        logger.warn({ sampleId: sample.id, broadcastId: sample.broadcastId, error: message }, 'transcription failed');
        await queues.add('evaluate-sample', { sampleId: sample.id, cascade: true });
        return;
      }
      const decodeMs = Date.now() - started;
      const findings = speechFindings(analyzer, { words: transcript.words, keywords: transcript.keywords, watchList: policy.speech.watchList, overlapMs: sample.overlapMs ?? 0 });
      const engineVersion = await transcriber.version();
      const rows = [...speechScores(findings)].map(([label, score]) => ({
        analyzer: SPEECH_ANALYZER, label, score, model: transcriber.engine, modelVersion: engineVersion, backend: 'cpu',
      }));
      const stored = await recordTranscript(db, sample, {
        engine: transcriber.engine, engineVersion, language: transcriber.language, text: transcript.text,
        words: transcript.words, keywords: transcript.keywords, findings, decodeMs,
      }, rows);
      if (stored && rows.length) metrics.signals.inc({ analyzer: SPEECH_ANALYZER, backend: 'cpu' }, rows.length);
      logger.debug({ sampleId: sample.id, words: transcript.words.length, findings: findings.length, decodeMs }, 'chunk transcribed');
    }
    await queues.add('evaluate-sample', { sampleId: sample.id, cascade: true });
  };
}
