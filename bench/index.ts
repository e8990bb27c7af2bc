/**
 * `npm run bench [-- options]`: this machine's figures from every issue, measured in one run, and a report.
 *
 *   npm run bench                                  everything (9–13 minutes on 2 cores), report in bench-report/
 *   npm run bench -- --json                        … and one JSON object with every figure as the last line of stdout
 *   npm run bench -- --quick --only text,review    a smoke test: shortened measurements, two sections
 *
 * Options:
 *   --json          print the figures as one JSON object on the last line of stdout (nothing is printed after it)
 *   --quick         shorter measurements (fewer seconds, streams, viewers and rounds): a smoke test, not figures to quote
 *   --only a,b      run only these sections (names below; `gates` = faces,panic,ban); the others are reported as skipped
 *   --out DIR       where the report goes (default bench-report/, gitignored): report.md, report.png, figures.json
 *   --help          this text
 *
 * Sections, in the order they run:
 *   frames:   frame-analyzer throughput per core for each backend side by side (onnxruntime with the compiled model,
 *             tfjs-node when installed, wasm) with the ratio to wasm, and the whole machine (one process per core);
 *             targets: the model ≥ 6× wasm per core, ≥ 100 frames/s on the machine
 *   tap:      CPU seconds per minute of a 720p30 stream, keyframes-only against decoding every frame (the peer)
 *   text:     chat verdict latency (p50, p99) and verdicts per second per core, next to obscenity alone (the peer);
 *             targets: p99 < 1 ms, ≥ 20,000/s
 *   chat:     fan-out p50/p99 from send to receipt for 1,000 viewers on loopback; target p99 < 50 ms
 *   audio:    transcription real-time factor, live audio streams per core, WER on the LibriVox reference clips,
 *             watch-list keyword spotting
 *   review:   hash-chained audit appends per second (vs plain inserts), queue listing and decision latency
 *   faces:    face/age frames per second per core with and without faces, and at FACE_EVERY_N
 *   panic:    panic press → moderator SSE p50/p99 while 20 RTMP streams are analysed; target p99 < 200 ms
 *   ban:      ban on node A → publish cut on node B (a second warden process) p50/p99; target p99 < 1 s
 *   flag:     time to flag: a sampled frame's capture → its review case, over real RTMP publishes of a clip the
 *             default policy flags (bench/time-to-flag.ts), p95 held to the 5 s analysis bound
 *   capacity: concurrent 720p30 streams one node holds with samples analysed within 5 s (p95), chat verdict
 *             p99 < 1 ms and panic p99 < 200 ms; target ≥ 100 (bench/capacity.ts; skipped while it is missing)
 *
 * Every section runs on its own throw-away database, Redis prefix and data directory. A section that throws is
 * reported as failed and the others still run; the exit code is then 1 (2 for bad options).
 * Figures are as measured: on a machine doing other work they are depressed (the report records the load average).
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchFrameBackends } from './frame-backends.ts';
import { benchTap } from './tap.ts';
import { benchText } from './text.ts';
import { benchChat } from './chat.ts';
import { benchAudio } from './audio.ts';
import { benchReview } from './review.ts';
import { benchFaces } from './gates-faces.ts';
import { benchPanic } from './gates-panic.ts';
import { benchBanAcrossNodes } from './gates-ban.ts';
import { banFigures, facesFigures, panicFigures } from './gates.ts';
import { benchTimeToFlag } from './time-to-flag.ts';
import { root } from './gates-common.ts';
import { parseBenchArgs, type BenchOptions } from './options.ts';
import { NOT_SELECTED, SECTIONS, capacitySchema, figuresJson, summarise, summaryLines, writeReport, type BenchFigures, type CapacityFigures, type SectionName } from './report.ts';

export { parseBenchArgs, type BenchOptions };

/** The shape of bench/capacity.ts as the report uses it (engineer A's module; absent until it lands). */
type CapacityModule = {
  benchCapacity: (opts: { steps?: number[]; warmupS?: number; measureS?: number; viewers?: number; panicPresses?: number; print?: (line: string) => void }) => Promise<unknown>;
};

/** Loads bench/capacity.ts, or null when the file is not there (any other load error is thrown). */
async function loadCapacity(): Promise<CapacityModule | null> {
  const file = path.join(root, 'bench/capacity.ts');
  try {
    // a computed specifier: the module may not exist yet, and the typecheck must not depend on it
    return (await import(pathToFileURL(file).href)) as CapacityModule;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'ENOENT') && String(e.message).includes('capacity.ts')) return null;
    throw err;
  }
}

/** Thrown by a section to be reported as skipped (with this message) rather than failed. */
class Skip extends Error {}

/**
 * Runs the selected sections one after another (so they do not load each other), printing their lines, and
 * returns every figure. Never throws for a section: its failure is recorded in `sections`.
 */
export async function runBench(o: BenchOptions, print: (line: string) => void = (l) => console.log(l)): Promise<BenchFigures> {
  const started = Date.now();
  const q = o.quick;
  const f: BenchFigures = {
    cores: os.cpus().length,
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'cpu', node: process.version, startedAt: new Date(started).toISOString(), loadAvgStart: os.loadavg(), loadAvgEnd: [] },
    options: { quick: q, only: o.only },
    sections: {},
    elapsedS: 0,
  };
  print(`warden bench on ${f.cores} × ${f.machine.cpu}, node ${process.version}${q ? ' (--quick)' : ''}; load average ${f.machine.loadAvgStart.map((x) => x.toFixed(2)).join(' ')}`);
  const runners: Record<SectionName, { title: string; run: () => Promise<void> }> = {
    frames: { title: 'frame analyzer (nsfwjs MobileNetV2), per backend and the whole machine', run: async () => {
      const r = await benchFrameBackends({ seconds: q ? 1 : 3, print });
      f.frames = { backends: r.backends, machine: r.machine, wasmDetail: { frames640: r.wasmDetail.frames640, modelOnly: r.wasmDetail.modelOnly } };
    } },
    tap: { title: 'stream tap (720p30 H.264, one sample per 2 s)', run: async () => {
      const r = await benchTap({ seconds: q ? 20 : 60 });
      f.tap = { keyframesCpuSPerMin: r.keyframesCpuSPerMin, allFramesCpuSPerMin: r.allFramesCpuSPerMin, ratio: r.ratio };
    } },
    text: { title: 'text check (chat verdicts)', run: async () => { f.text = await benchText({ seconds: q ? 0.5 : 2 }); } },
    chat: { title: `chat fan-out (${q ? 200 : 1000} viewers on loopback)`, run: async () => { f.chat = await benchChat(q ? { viewers: 200, messages: 40, print } : { print }); } },
    audio: { title: 'transcription (PocketSphinx)', run: async () => { f.audio = await benchAudio(print, { keywords: !q }); } },
    review: { title: 'review (audit chain, queue, decisions on Postgres)', run: async () => { f.review = await benchReview(q ? { appends: 80, cases: 300, decisions: 10 } : {}); } },
    faces: { title: 'faces (face/age analysis per core)', run: async () => { (f.gates ??= {}).faces = facesFigures(await benchFaces({ seconds: q ? 1 : 5, print })); } },
    panic: { title: 'panic alerts under load', run: async () => {
      (f.gates ??= {}).panic = panicFigures(await benchPanic(q ? { streams: 4, alerts: 15, idleAlerts: 5, warmupS: 3, print } : { print }));
    } },
    ban: { title: 'bans across nodes', run: async () => { (f.gates ??= {}).ban = banFigures(await benchBanAcrossNodes({ rounds: q ? 3 : 15, print })); } },
    flag: { title: 'time to flag (capture → case over RTMP)', run: async () => { f.timeToFlag = await benchTimeToFlag({ streams: q ? 3 : 10, print }); } },
    capacity: { title: 'capacity (streams one node holds)', run: async () => {
      const mod = await loadCapacity();
      if (!mod) throw new Skip('bench/capacity.ts is not in the tree yet (issue 9, part 2): no streams-held figure');
      // --quick: two small steps, short windows (a smoke test of the machinery, not a capacity figure)
      const parsed = capacitySchema.safeParse(await mod.benchCapacity(q ? { steps: [4, 8], warmupS: 8, measureS: 8, viewers: 60, panicPresses: 8, print } : { print }));
      if (!parsed.success) throw new Error(`benchCapacity returned an unexpected shape: ${parsed.error.message}`);
      f.capacity = parsed.data as CapacityFigures;
    } },
  };
  for (const name of SECTIONS) {
    if (o.only && !o.only.includes(name)) { f.sections[name] = { status: 'skipped', note: NOT_SELECTED }; continue; }
    print(`\n== ${name}: ${runners[name].title} ==`);
    const t0 = Date.now();
    try {
      await runners[name].run();
      f.sections[name] = { status: 'ok', seconds: Math.round((Date.now() - t0) / 1000) };
    } catch (err) {
      const skipped = err instanceof Skip;
      const message = err instanceof Error ? err.message : String(err);
      f.sections[name] = { status: skipped ? 'skipped' : 'failed', seconds: Math.round((Date.now() - t0) / 1000), note: message.slice(0, 500) };
      print(`${name}  ${skipped ? 'skipped' : 'FAILED'}: ${message}`);
      if (!skipped && err instanceof Error && err.stack) console.error(err.stack);
    }
  }
  f.machine.loadAvgEnd = os.loadavg();
  f.elapsedS = Math.round((Date.now() - started) / 1000);
  return f;
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parseBenchArgs>;
  try {
    o = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)} (see --help)`);
    return 2;
  }
  if (o.help) {
    const { readFile } = await import('node:fs/promises');
    const src = await readFile(new URL(import.meta.url), 'utf8');
    console.log(src.slice(src.indexOf('/**') + 3, src.indexOf('*/')).split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n').trim());
    return 0;
  }
  const f = await runBench(o);
  const rows = summarise(f);
  console.log('\n== summary ==');
  for (const l of summaryLines(rows)) console.log(l);
  for (const [name, s] of Object.entries(f.sections)) if (s.status !== 'ok' && s.note !== NOT_SELECTED) console.log(`${name.padEnd(8)} ${s.status}: ${s.note ?? ''}`);
  let failed = Object.values(f.sections).some((s) => s.status === 'failed');
  try {
    const files = await writeReport(f, o.out);
    console.log(`\nreport: ${files.markdown}, ${files.png}, ${files.json} (${f.elapsedS} s)`);
  } catch (err) {
    console.error(`bench: the report could not be written: ${err instanceof Error ? err.stack : String(err)}`);
    failed = true;
  }
  if (o.json) await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(figuresJson(f, rows))}\n`, () => resolve()));
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  // exit as soon as the last line is out: a straggling timer or log must not print after the JSON line
  main().then((code) => process.exit(code), (err: unknown) => { console.error(err); process.exit(1); });
}
