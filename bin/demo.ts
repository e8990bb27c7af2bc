/**
 * `warden demo`: migrates, starts Warden (api + ingest + workers), seeds a verified and an unverified
 * performer, builds a real 720p30 H.264/AAC stream from real photographs and recorded speech (with
 * watch-list phrases spoken by espeak-ng), tries two
 * publishes that must be refused, publishes the real stream over RTMP at real-time speed (as OBS would), has
 * a moderator sign in and ban the performer near the end (timing how fast the stream is cut), publishes again
 * (refused: banned), runs the trust-gates segment (bin/demo-gates.ts: a new performer refused, verified over HTTP
 * with real photographs, approved by a moderator, accepted, and a timed panic press acknowledged and resolved),
 * waits until every sample is analysed and prints a summary, then one JSON line of the figures.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { createContext } from '../core/context.ts';
import { broadcastReport, liftBans, pendingSamples, publishRefusalsSince, redactUrl, type BroadcastReport } from '../db/index.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { buildDemoVideo, publishRtmp } from './demo-media.ts';
import { startWarden } from './runtime.ts';
import { seedPerformer } from './seed.ts';
import { runDemoChat } from './demo-chat.ts';
import { DEMO_ACCOUNTS, demoOtpauthUrl, runDemoReview, seedDemoAccounts } from './demo-review.ts';
import { runDemoGates } from './demo-gates.ts';
import { randomBytes } from 'node:crypto';

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Watch-list phrases (a threat, two requests for contact details) said in the demo stream between the recordings. */
const DEMO_PHRASES = ['i will kill you', 'add me on snapchat', 'what is your phone number'];

/** Waits for the first publish event matching `pred`, or rejects after `ms`. */
function nextPublishEvent(events: NodeJS.EventEmitter, pred: (e: PublishEvent) => boolean, ms: number): Promise<PublishEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { events.off('publish', on); reject(new Error(`no matching publish event within ${ms} ms`)); }, ms);
    const on = (e: PublishEvent) => { if (pred(e)) { clearTimeout(timer); events.off('publish', on); resolve(e); } };
    events.on('publish', on);
  });
}

/** Runs the demo. @param opts.exit stop Warden when done (else keep serving until SIGINT/SIGTERM). */
export async function runDemo(config: Config, opts: { exit: boolean; seconds?: number }): Promise<number> {
  const started = new Date();
  out('Warden demo: a real RTMP stream through keyframe sampling, NSFW analysis and rules into review cases');
  if (!config.dataKey) {
    // verification images (and two-factor secrets) are sealed with DATA_KEY; the demo keeps a key of its own next to its data
    config = { ...config, dataKey: await demoDataKey(config.dataDir) };
    out(`  DATA_KEY is not set: the demo uses its own key in ${path.join(config.dataDir, 'demo-data.key')} (set DATA_KEY in production)`);
  }
  // the demo prints its own narrative; keep the JSON logs to errors unless LOG_LEVEL asks for more
  const ctx = await createContext({ ...config, logLevel: config.logLevel === 'info' ? 'error' : config.logLevel }, { migrate: true });
  const warden = await startWarden(ctx, { api: true, ingest: true, workers: true }).catch(async (e) => { await ctx.close(); throw e; });
  try {
    const ingest = warden.ingest!;
    const rtmpBase = `rtmp://127.0.0.1:${config.rtmp.port}/live`;
    out(`  database ${redactUrl(config.databaseUrl)}, redis prefix "${config.redisPrefix}", policy ${ctx.policy().version}`);
    out(`  api ${warden.httpUrl}, rtmp ${rtmpBase}, frame model on ${warden.frameBackend} in ${config.analyzer.workerProcesses || 'the main'} process(es)`);

    const verified = await seedPerformer(ctx.db, 'demo-performer', { verified: true });
    await liftBans(ctx.db, { userId: verified.userId }, 'demo: a new run'); // an earlier demo run banned them
    const password = randomBytes(12).toString('base64url');
    await seedDemoAccounts(ctx.db, password, config.dataKey);
    const unverified = await seedPerformer(ctx.db, 'demo-unverified', { verified: false });
    out('  seeded performers: demo-performer (verified), demo-unverified (no verification)');

    out(`  building the demo stream (720p30 H.264/AAC: sample photos + test pattern, LibriVox speech with ${DEMO_PHRASES.map((p) => `"${p}"`).join(', ')} spoken by espeak-ng)...`);
    const video = await buildDemoVideo({ dir: path.join(config.dataDir, 'demo-media'), seconds: opts.seconds ?? 36, spoken: DEMO_PHRASES });

    for (const [label, key] of [['an invalid stream key', 'wk_not-a-real-key-0000000000000000'], ['the unverified performer\'s key', unverified.streamKey]] as const) {
      const refused = nextPublishEvent(ingest.events, (e) => e.type !== 'ended', 15_000);
      const pub = publishRtmp(video, `${rtmpBase}/${key}`);
      const e = await refused;
      await pub.stop();
      out(`  publish with ${label}: ${e.type}${e.type === 'refused' ? ` (${e.reason})` : ''}`);
    }

    out(`  publishing the stream as demo-performer at real-time speed (${opts.seconds ?? 36} s)...`);
    const accepted = nextPublishEvent(ingest.events, (e) => e.type !== 'ended', 15_000);
    const publisher = publishRtmp(video, `${rtmpBase}/${verified.streamKey}`);
    const first = await accepted;
    if (first.type !== 'accepted') throw new Error(`the verified performer's publish was ${first.type}: ${'reason' in first ? first.reason : ''}`);
    const broadcastId = first.broadcastId;
    const acceptedAt = Date.now();
    const ended = nextPublishEvent(ingest.events, (e) => e.type === 'ended' && e.broadcastId === broadcastId, (opts.seconds ?? 36) * 1000 + 30_000);
    const chat = await runDemoChat(ctx.db, warden.httpUrl!, broadcastId, out);
    // near the end of the stream, a moderator works the queue and bans the performer: the stream is cut
    const banAt = acceptedAt + ((opts.seconds ?? 36) - 8) * 1000;
    if (Date.now() < banAt) await new Promise((r) => setTimeout(r, banAt - Date.now()));
    const review = await runDemoReview(ctx.db, warden.httpUrl!, password, broadcastId, ingest.events, out);
    await publisher.exited;
    await ended;
    const again = nextPublishEvent(ingest.events, (e) => e.type !== 'ended', 15_000);
    const retry = publishRtmp(video, `${rtmpBase}/${verified.streamKey}`);
    const retried = await again;
    await retry.stop();
    out(`  publish again as the banned performer: ${retried.type}${retried.type === 'refused' ? ` (${retried.reason})` : ''}`);
    const gates = await runDemoGates(ctx.db, warden.httpUrl!, password, ingest.events, video, rtmpBase, out);
    const deadline = Date.now() + 90_000;
    while ((await pendingSamples(ctx.db, broadcastId)) > 0 || Object.values(await ctx.queues.depth()).some((n) => n > 0)) {
      if (Date.now() > deadline) throw new Error('samples were not analysed and transcribed within 90 s of the stream ending');
      await new Promise((r) => setTimeout(r, 250));
    }
    const report = await broadcastReport(ctx.db, broadcastId);
    const refusals = await publishRefusalsSince(ctx.db, started);
    printSummary(report, refusals, broadcastId);
    const signalCount = Object.values(report.signals).reduce((n, s) => n + s.count, 0);
    const latencies = report.cases.map((c) => c.captureToCaseMs).filter((v): v is number => v !== null);
    out(JSON.stringify({
      broadcastId,
      backend: warden.frameBackend,
      policyVersion: ctx.policy().version,
      samples: Object.values(report.samples).reduce((a, b) => a + b, 0),
      framesAnalysed: report.samples.analysed ?? 0,
      duplicateFrames: report.samples.duplicate ?? 0,
      failedFrames: report.samples.failed ?? 0,
      signals: signalCount,
      audioChunks: Object.values(report.audio.chunks).reduce((a, b) => a + b, 0),
      transcripts: report.audio.transcripts,
      transcriptWords: report.audio.words,
      spokenPhrases: report.audio.phrases,
      speechCases: report.cases.filter((c) => c.audioUrl).map((c) => c.reason),
      signalsByClass: Object.fromEntries(Object.entries(report.signals).map(([k, v]) => [k, v.count])),
      cases: report.cases.length,
      caseReasons: report.cases.map((c) => c.reason),
      actions: report.actions,
      chat,
      review: { caseReason: review.reason, decision: review.decision, streamCutMs: review.streamCutMs, statementId: review.statementId },
      auditChain: review.auditChain,
      gates,
      republishAfterBan: retried.type === 'refused' ? retried.reason : retried.type,
      refusedPublishes: refusals.length,
      refusalReasons: refusals.map((r) => r.reason),
      captureToCaseMs: latencies.length ? Math.min(...latencies) : null,
      meanAnalysisLatencyMs: report.meanAnalysisLatencyMs,
      tapMode: report.tap.mode,
      elapsedS: Math.round((Date.now() - started.getTime()) / 100) / 10,
    }));
    if (opts.exit) {
      const ok = report.cases.length > 0 && refusals.length >= 2 && (report.samples.analysed ?? 0) > 0 && report.audio.transcripts > 0
        && review.decision === 'ban' && review.streamCutMs !== null && review.auditChain.ok && retried.type === 'refused'
        && gates.beforeApproval === 'refused (not_verified)' && gates.decision === 'approve' && gates.afterApproval === 'accepted'
        && gates.panic.deliveredMs !== null && gates.panic.resolved;
      return ok ? 0 : 1;
    }
    out('');
    out('Warden keeps running. Look at:');
    out(`  the review console: ${warden.httpUrl}/console/  (password for all three: ${password})`);
    for (const a of DEMO_ACCOUNTS) out(`    ${a.email.padEnd(30)} ${a.role}`);
    out('    staff sign in with a second factor: add each account to an authenticator app (or get a code with');
    out('    `npx tsx -e "import(\'./core/totp.ts\').then((t) => console.log(t.totpCode(\'SECRET\')))"`) from its otpauth URL:');
    for (const a of DEMO_ACCOUNTS) out(`    ${demoOtpauthUrl(a)}`);
    out(`  the performer studio: ${warden.httpUrl}/studio/  (sign up as a performer, verify, create a key, go live)`);
    out(`  the watch page: ${warden.httpUrl}/watch/  (sign up as a viewer, confirm your age, watch, chat, captions, reports)`);
    out(`  the API: ${warden.httpUrl}/api/openapi.json`);
    out(`  ${warden.httpUrl}/metrics   ${warden.httpUrl}/readyz`);
    out(`  psql ${redactUrl(config.databaseUrl)} -c 'select reason, priority, status from cases'`);
    out(`  captions: curl -H 'authorization: Bearer <session token>' ${warden.httpUrl}/api/broadcasts/${broadcastId}/captions.vtt`);
    out(`  chat: ws://127.0.0.1:${new URL(warden.httpUrl!).port}/chat/${broadcastId} (signed-in adults; see POST /api/me/birth-date)`);
    out(`  publish your own stream: ffmpeg -re -i FILE -c copy -f flv ${rtmpBase}/${verified.streamKey}`);
    out('  Ctrl-C to stop.');
    await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
    return 0;
  } finally {
    await warden.stop();
    await ctx.close();
  }
}

/** The demo's data key (64 hex digits), made once under the data directory (mode 0600) and reused. */
async function demoDataKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'demo-data.key');
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (/^[0-9a-f]{64}$/.test(existing.trim())) return existing.trim();
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

function printSummary(r: BroadcastReport, refusals: { reason: string; keyPrefix: string; handle: string | null }[], broadcastId: string): void {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  out('');
  out(`Broadcast ${broadcastId} (${r.tap.status}: ${r.tap.endReason ?? '-'})`);
  out(`  tap: ${r.tap.mode ?? '-'}${r.tap.note ? ` (${r.tap.note})` : ''}; duplicate frames skipped: ${r.tap.duplicateFrames}`);
  out(`  frames: ${Object.entries(r.samples).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`);
  out(`  audio chunks: ${Object.entries(r.audio.chunks).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}; ${r.audio.transcripts} transcripts, ${r.audio.words} words; watch-list phrases heard: ${r.audio.phrases.map((p) => `"${p}"`).join(', ') || 'none'}`);
  out('  signals by class (count, mean, max):');
  for (const [label, s] of Object.entries(r.signals)) out(`    ${label.padEnd(8)} ${String(s.count).padStart(4)}  ${pct(s.mean).padStart(6)}  ${pct(s.max).padStart(6)}`);
  out(`  cases: ${r.cases.length}`);
  for (const c of r.cases) {
    out(`    [${c.priority}] ${c.reason}: ${c.evidence} evidence sample(s), capture to case ${c.captureToCaseMs ?? '-'} ms (policy ${c.policyVersion})${c.audioUrl ? `, audio ${c.audioUrl}` : ''}`);
  }
  out(`  actions: ${Object.entries(r.actions).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`);
  out(`  refused publishes: ${refusals.length}`);
  for (const f of refusals) out(`    ${f.reason} (key ${f.keyPrefix}…${f.handle ? `, ${f.handle}` : ''})`);
  out(`  mean capture-to-signal latency: ${r.meanAnalysisLatencyMs ?? '-'} ms`);
}
