/**
 * The benchmark report: turns the figures `npm run bench` measured (a {@link BenchFigures} object, also its JSON
 * line) into
 *   - a summary: one row per headline figure with its unit, target (where an issue set one), met/MISSED, and
 *     the peer measured beside it (wasm, obscenity alone, decoding every frame, plain inserts, the idle baseline);
 *   - `report.md`: the machine, the summary table, the chart, each section's detail lines, skipped/failed sections;
 *   - `report.png`: an SVG built here (one small horizontal bar chart per headline figure: the figure, its peer,
 *     the target as a dashed line), rendered to PNG by sharp's librsvg with the generic `sans-serif` family that
 *     fontconfig resolves (DejaVu Sans on Debian): no network, no downloaded fonts;
 *   - `figures.json`: the figures with the summary, the same object the `--json` line carries.
 * Pure apart from {@link writeReport} (files) and {@link renderChartPng} (sharp). Figures read back from JSON may
 * hold `null` where a measurement had no value (JSON has no NaN); every renderer shows those as "–".
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import type { BackendFigures, MachineFigures } from './frame-backends.ts';
import type { BenchSuiteSummary } from './frames.ts';
import type { TextBenchResult } from './text.ts';
import type { ChatBenchResult } from './chat.ts';
import type { AudioBenchResult } from './audio.ts';
import type { ReviewBench } from './review.ts';
import type { banFigures, facesFigures, panicFigures } from './gates.ts';
import type { TimeToFlagBench } from './time-to-flag.ts';

/** The bench's sections, in the order they run (`--only` takes these names; `gates` means faces,panic,ban). */
export const SECTIONS = ['frames', 'tap', 'text', 'chat', 'audio', 'review', 'faces', 'panic', 'ban', 'flag', 'capacity'] as const;
export type SectionName = (typeof SECTIONS)[number];

/** The note of a section left out by `--only`. */
export const NOT_SELECTED = 'not selected (--only)';

/** What became of a section: measured (`ok`), not run (`skipped`, with why), or thrown (`failed`, with the error). */
export interface SectionStatus { status: 'ok' | 'skipped' | 'failed'; seconds?: number; note?: string }

/** A latency that may be infinite in-process (a sample never analysed) and is null once through JSON: null either way. */
const latencyMs = z.preprocess((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), z.number().nullable());

/**
 * One capacity step as bench/capacity.ts reports it (engineer A's module): `streams` concurrent 720p30 streams,
 * sample capture → analysed p95, chat verdict p99 and panic p99 in ms, whether every bound held, and what limited
 * it when not (one reason or a list). The step's other fields (frames, audio, CPU, sampling…) are kept as they are.
 */
export const capacityAttemptSchema = z.looseObject({
  streams: z.number(),
  sampleLatencyP95Ms: latencyMs,
  chatVerdictP99Ms: latencyMs,
  panicP99Ms: latencyMs,
  ok: z.boolean(),
  limitedBy: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  /** Which targets the step met (recorded since the chat verdict stopped ending the stepping). */
  meets: z.looseObject({ publishes: z.boolean(), frames: z.boolean(), chatVerdict: z.boolean(), panic: z.boolean() }).optional(),
});

/** `benchCapacity()`'s result as far as the report reads it (the module's own type carries more, kept as is). */
export const capacitySchema = z.looseObject({
  streamsHeld: z.number(),
  attempts: z.array(capacityAttemptSchema),
  timeToFlagP95Ms: latencyMs.optional(),
  /** The most streams of a step that met each target on its own, and all but the chat verdict's. */
  heldBy: z.looseObject({ frames: z.number(), chatVerdict: z.number(), panic: z.number(), allButChatVerdict: z.number() }).optional(),
  /** CPU per stream and fixed (bench/capacity-model.ts); null when fewer than two steps held the base interval. */
  costModel: z.looseObject({
    from: z.tuple([z.number(), z.number()]), perStream: z.record(z.string(), z.number()), perStreamTotal: z.number(),
    fixedCores: z.number(), cores: z.number(), projectedStreams: z.number(), targetStreams: z.number(), coresForTarget: z.number(),
  }).nullable().optional(),
});
export type CapacityFigures = z.infer<typeof capacitySchema>;

/** A capacity step's limit as one line ('' when held). */
export function limitText(l: string | string[] | null | undefined): string {
  return Array.isArray(l) ? l.join('; ') : (l ?? '');
}

/** Everything one bench run measured. Sections not run are absent; see `sections` for why. */
export interface BenchFigures {
  cores: number;
  machine: {
    cpu: string; node: string; startedAt: string;
    /** os.loadavg() when the run started and ended: the other work on the machine (1, 5, 15 min). */
    loadAvgStart: number[]; loadAvgEnd: number[];
  };
  options: { quick: boolean; only: SectionName[] | null };
  sections: Partial<Record<SectionName, SectionStatus>>;
  frames?: { backends: BackendFigures[]; machine: MachineFigures; wasmDetail: { frames640: BenchSuiteSummary; modelOnly: BenchSuiteSummary } };
  tap?: { keyframesCpuSPerMin: number; allFramesCpuSPerMin: number; ratio: number };
  text?: TextBenchResult;
  chat?: ChatBenchResult;
  audio?: AudioBenchResult;
  review?: ReviewBench;
  gates?: { faces?: ReturnType<typeof facesFigures>; panic?: ReturnType<typeof panicFigures>; ban?: ReturnType<typeof banFigures> };
  timeToFlag?: TimeToFlagBench;
  capacity?: CapacityFigures;
  elapsedS: number;
}

/** A target: the figure must be below (`<`) or at least (`≥`) `value`, in the row's unit. */
export interface Target { op: '<' | '≤' | '≥'; value: number }

/** One headline figure of the summary. `value` null: measured, but no value came out (e.g. no samples). */
export interface SummaryRow {
  /** Stable id, e.g. `text.verdictP99`. */
  id: string;
  section: SectionName;
  figure: string;
  value: number | null;
  unit: string;
  better: 'higher' | 'lower';
  target?: Target;
  /** Only with a target: whether it was met (some rows also need nothing lost: no missed alert, no broadcast left). */
  met?: boolean;
  peer?: { label: string; value: number | null };
  /** What the measured bar is called in the chart (default `Warden`). */
  label?: string;
  note?: string;
}

const num = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function judge(value: number | null, t: Target, alsoOk = true): boolean {
  if (value === null || !alsoOk) return false;
  return t.op === '<' ? value < t.value : t.op === '≤' ? value <= t.value : value >= t.value;
}

/** The capacity attempt the held figure came from: the largest passing attempt (null when none passed). */
export function heldAttempt(c: CapacityFigures): CapacityFigures['attempts'][number] | null {
  const ok = c.attempts.filter((a) => a.ok).sort((a, b) => b.streams - a.streams);
  return ok.find((a) => a.streams === c.streamsHeld) ?? ok[0] ?? null;
}

/**
 * The headline rows, in section order, for the sections present in `f`. Targets are the issues' own: the frame
 * model ≥ 6× wasm per core and ≥ 100 frames/s on the machine (issue 8); chat verdict p99 < 1 ms and ≥ 20,000
 * verdicts/s per core, fan-out p99 < 50 ms (issue 2); panic p99 < 200 ms, ban-to-disconnect p99 < 1 s (issue 6);
 * ≥ 100 streams held with samples analysed within 5 s (p95), chat p99 < 1 ms and panic p99 < 200 ms (issue 9).
 * Time-to-flag has no target of its own: it is held to the 5 s analysis bound (a case can come no earlier).
 */
export function summarise(f: BenchFigures): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const add = (r: SummaryRow) => rows.push(r.target ? { ...r, met: r.met ?? judge(r.value, r.target) } : r);
  if (f.frames) {
    const wasm = f.frames.backends.find((b) => b.backend === 'wasm');
    for (const b of f.frames.backends) {
      add({
        id: `frames.${b.backend}.fpsPerCore`, section: 'frames', figure: `640×360 frames/s per core, ${b.backend}`, value: num(b.frame640BatchedFps), unit: 'fps', better: 'higher', label: b.backend,
        peer: b.backend !== 'wasm' && wasm ? { label: 'wasm', value: num(wasm.frame640BatchedFps) } : undefined,
        note: `${num(b.msPerFrame) ?? '–'} ms/frame, batch ${b.bestBatch}; ${fmt(num(b.ratioToWasm))}× wasm (model alone ${fmt(num(b.modelOnlyFps))} fps, ${fmt(num(b.modelRatioToWasm))}×)`,
      });
    }
    const fastest = f.frames.backends.reduce((a, b) => ((b.frame640BatchedFps ?? 0) > (a.frame640BatchedFps ?? 0) ? b : a), f.frames.backends[0]!);
    add({
      id: 'frames.modelRatioToWasm', section: 'frames', figure: `frame model per core, ${fastest.backend} ÷ wasm`, value: num(fastest.modelRatioToWasm), unit: '×', better: 'higher', label: fastest.backend,
      target: { op: '≥', value: 6 }, note: `the whole frame (decode, resize, model): ${fmt(num(fastest.ratioToWasm))}×`,
    });
    add({
      id: 'frames.machineFps', section: 'frames', figure: `frames/s on the whole machine (${f.frames.machine.processes} processes, ${f.frames.machine.backend})`,
      value: num(f.frames.machine.fps), unit: 'fps', better: 'higher', target: { op: '≥', value: 100 },
      note: `per process ${f.frames.machine.perProcessFps.map((x) => fmt(num(x))).join(' + ')}`,
    });
  }
  if (f.tap) {
    add({
      id: 'tap.keyframesCpuSPerMin', section: 'tap', figure: 'tap CPU per minute of 720p30, keyframes only', value: num(f.tap.keyframesCpuSPerMin), unit: 'CPU s/min', better: 'lower', label: 'keyframes only',
      peer: { label: 'decoding every frame', value: num(f.tap.allFramesCpuSPerMin) },
    });
    add({ id: 'tap.ratio', section: 'tap', figure: 'tap cost ratio, every frame ÷ keyframes only', value: num(f.tap.ratio), unit: '×', better: 'higher' });
  }
  if (f.text) {
    add({
      id: 'text.verdictP99', section: 'text', figure: 'chat verdict p99', value: num(f.text.p99Us), unit: 'µs', better: 'lower', target: { op: '<', value: 1000 },
      peer: { label: 'obscenity alone', value: num(f.text.obscenityAlone.p99Us) }, note: `p50 ${fmt(num(f.text.p50Us))} µs`,
    });
    add({
      id: 'text.verdictsPerSecPerCore', section: 'text', figure: 'chat verdicts per second per core', value: num(f.text.msgsPerSecPerCore), unit: 'msgs/s', better: 'higher',
      target: { op: '≥', value: 20000 }, peer: { label: 'obscenity alone', value: num(f.text.obscenityAlone.msgsPerSec) },
      note: `full check costs ${fmt(num(f.text.ratio))}× obscenity alone per message`,
    });
  }
  if (f.chat) {
    add({
      id: 'chat.fanOutP99', section: 'chat', figure: `chat fan-out p99, send → receipt, ${f.chat.viewers.toLocaleString('en')} viewers`, value: num(f.chat.p99Ms), unit: 'ms', better: 'lower',
      target: { op: '<', value: 50 }, note: `p50 ${fmt(num(f.chat.p50Ms))} ms, ${f.chat.receipts.toLocaleString('en')} receipts`,
    });
  }
  if (f.audio) {
    add({ id: 'audio.realTimeFactor', section: 'audio', figure: 'transcription real-time factor', value: num(f.audio.realTimeFactor), unit: '×', better: 'lower', note: `≈ ${fmt(num(f.audio.streamsPerCore))} live audio streams per core` });
    add({ id: 'audio.wer', section: 'audio', figure: 'word error rate, LibriVox reference clips', value: num(f.audio.wer) === null ? null : f.audio.wer * 100, unit: '%', better: 'lower', note: `${f.audio.words} words` });
    const recall = num(f.audio.keywordRecall);
    if (recall !== null) {
      add({ id: 'audio.keywordRecall', section: 'audio', figure: 'watch-list phrases spotted', value: recall * 100, unit: '%', better: 'higher', note: `${fmt(num(f.audio.keywordFalseAlarmsPerMin))} false alarms per minute of speech` });
    }
  }
  if (f.review) {
    add({
      id: 'review.auditAppendsPerS', section: 'review', figure: 'hash-chained audit appends per second (serial)', value: num(f.review.auditAppendsPerS.serial), unit: 'appends/s', better: 'higher',
      peer: { label: 'plain inserts', value: num(f.review.auditAppendsPerS.plainInsertSerial) }, note: `${f.review.auditAppendsPerS.concurrent8}/s from 8 writers`,
    });
    add({ id: 'review.queueListP50', section: 'review', figure: `queue listing p50 over ${f.review.queueListMs.cases.toLocaleString('en')} open cases`, value: num(f.review.queueListMs.p50), unit: 'ms', better: 'lower', note: `p99 ${fmt(num(f.review.queueListMs.p99))} ms` });
    add({ id: 'review.decisionP50', section: 'review', figure: 'decision p50 (resolve, audit, statement, strike)', value: num(f.review.decisionMs.p50), unit: 'ms', better: 'lower', note: `p99 ${fmt(num(f.review.decisionMs.p99))} ms, ${f.review.decisionMs.n} decisions` });
  }
  const g = f.gates;
  if (g?.faces) {
    add({
      id: 'faces.fpsPerCore', section: 'faces', figure: `face/age frames/s per core with faces, ${g.faces.size}`, value: num(g.faces.withFacesFpsPerCore), unit: 'fps', better: 'higher', label: 'with faces',
      peer: { label: 'without faces (detector only)', value: num(g.faces.withoutFacesFpsPerCore) },
      note: `at FACE_EVERY_N=${g.faces.faceEveryN}: ≈ ${g.faces.effective.withFaces.streamsPerCore} streams per core with faces on every frame; detector on ${g.faces.networks?.detector ?? 'tfjs'}, landmarks on ${g.faces.networks?.landmarks ?? 'tfjs'}, recognition on ${g.faces.networks?.recognition ?? 'tfjs'}, age on ${g.faces.networks?.age ?? 'tfjs'}`,
    });
    if (g.faces.tfjs) { // figures from before the compiled face networks have none
      add({
        id: 'faces.compiledWithFaces', section: 'faces', figure: `face checks per core with faces, compiled networks against TF.js, ${g.faces.size}`, value: num(g.faces.withFacesFpsPerCore), unit: 'fps', better: 'higher',
        label: 'compiled networks on onnxruntime', peer: { label: 'face-api on TF.js only', value: num(g.faces.tfjs.withFacesFpsPerCore) },
        note: `without faces (the detector alone): ${fmt(num(g.faces.withoutFacesFpsPerCore))} against ${fmt(num(g.faces.tfjs.withoutFacesFpsPerCore))} fps per core`,
      });
    }
  }
  if (g?.panic) {
    const t: Target = { op: '<', value: g.panic.targetP99Ms };
    add({
      id: 'panic.deliveryP99', section: 'panic', figure: `panic press → moderator SSE p99, ${g.panic.streams} streams analysed`, value: num(g.panic.deliveryMs.p99), unit: 'ms', better: 'lower', label: `${g.panic.streams} streams live`,
      target: t, met: judge(num(g.panic.deliveryMs.p99), t, g.panic.missed === 0), peer: { label: 'idle', value: num(g.panic.idle.deliveryMs.p99) },
      note: `p50 ${fmt(num(g.panic.deliveryMs.p50))} ms, n=${g.panic.deliveryMs.n}${g.panic.missed ? `, ${g.panic.missed} not delivered` : ''}`,
    });
  }
  if (g?.ban) {
    const t: Target = { op: '<', value: g.ban.targetP99Ms };
    add({
      id: 'ban.disconnectP99', section: 'ban', figure: 'ban on node A → publish cut on node B, p99', value: num(g.ban.disconnectMs.p99), unit: 'ms', better: 'lower',
      target: t, met: judge(num(g.ban.disconnectMs.p99), t, g.ban.notDisconnected === 0),
      note: `p50 ${fmt(num(g.ban.disconnectMs.p50))} ms, n=${g.ban.disconnectMs.n}${g.ban.notDisconnected ? `, ${g.ban.notDisconnected} still connected` : ''}`,
    });
  }
  if (f.timeToFlag) {
    const ttf = f.timeToFlag;
    const t: Target = { op: '<', value: ttf.targetP95Ms };
    add({
      id: 'flag.captureToCaseP95', section: 'flag', figure: `time to flag p95, capture → case (${ttf.streams} RTMP streams)`, value: num(ttf.p95Ms), unit: 'ms', better: 'lower',
      target: t, met: judge(num(ttf.p95Ms), t, ttf.unflagged === 0),
      note: `p50 ${fmt(num(ttf.captureToCaseMs.p50))} ms${ttf.unflagged ? `, ${ttf.unflagged} broadcasts without a case` : ''}`,
    });
  }
  if (f.capacity) {
    const c = f.capacity;
    const held = heldAttempt(c);
    add({
      id: 'capacity.streamsHeld', section: 'capacity', figure: 'concurrent 720p30 streams held on one node', value: num(c.streamsHeld), unit: 'streams', better: 'higher',
      target: { op: '≥', value: 100 }, note: `steps: ${c.attempts.map((a) => `${a.streams} ${a.ok ? 'held' : 'not held'}`).join(', ')}${c.attempts.some((a) => !a.ok) ? `; limited by ${limitText(c.attempts.find((a) => !a.ok)!.limitedBy)}` : ''}`,
    });
    if (c.heldBy) {
      add({
        id: 'capacity.streamsHeldButChat', section: 'capacity', figure: 'streams held by every target but the chat verdict (frames within 5 s at the base interval, panic, publishes)',
        value: c.heldBy.allButChatVerdict, unit: 'streams', better: 'higher', target: { op: '≥', value: 100 },
        note: `frames alone up to ${c.heldBy.frames}, panic up to ${c.heldBy.panic}, chat verdict up to ${c.heldBy.chatVerdict}`,
      });
    }
    // the held step's figures; when none held, the largest step that met every target but the chat verdict's, else the
    // first step's (what stopped it)
    const butChat = c.attempts.filter((a) => a.meets && a.meets.publishes && a.meets.frames && a.meets.panic).sort((a, b) => b.streams - a.streams)[0];
    const shown = held ?? butChat ?? c.attempts[0];
    const at = shown ? `at ${shown.streams} streams${held ? '' : shown === butChat ? ' (all but the chat verdict held)' : ' (not held)'}` : 'no step ran';
    add({ id: 'capacity.sampleLatencyP95', section: 'capacity', figure: `sample capture → analysed p95, ${at}`, value: num(shown?.sampleLatencyP95Ms), unit: 'ms', better: 'lower', target: { op: '<', value: 5000 } });
    add({ id: 'capacity.chatVerdictP99', section: 'capacity', figure: `chat verdict p99 under load, ${at}`, value: num(shown?.chatVerdictP99Ms), unit: 'ms', better: 'lower', target: { op: '<', value: 1 } });
    add({ id: 'capacity.panicP99', section: 'capacity', figure: `panic p99 under load, ${at}`, value: num(shown?.panicP99Ms), unit: 'ms', better: 'lower', target: { op: '<', value: 200 } });
    if (c.costModel) {
      const m = c.costModel;
      const parts = Object.entries(m.perStream).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([g, v]) => `${g} ${(v * 100).toFixed(1)}%`).join(', ');
      add({
        id: 'capacity.cpuPerStream', section: 'capacity', figure: `CPU per stream at the base interval (${m.from[0]} → ${m.from[1]} streams)`,
        value: Math.round(m.perStreamTotal * 1000) / 10, unit: '% of a core', better: 'lower',
        note: `${parts}; fixed ${m.fixedCores} cores; about ${m.projectedStreams} streams on ${m.cores} cores by CPU`,
      });
      add({
        id: 'capacity.coresForTarget', section: 'capacity', figure: `cores ${m.targetStreams} streams would need at that cost`,
        value: m.coresForTarget, unit: 'cores', better: 'lower', target: { op: '≤', value: m.cores },
      });
    }
    if (c.timeToFlagP95Ms !== undefined) {
      add({ id: 'capacity.timeToFlagP95', section: 'capacity', figure: 'time to flag p95 under load, capture → case', value: num(c.timeToFlagP95Ms), unit: 'ms', better: 'lower', target: { op: '<', value: 5000 } });
    }
  }
  return rows;
}

/** A number for people: thousands separated, 0–2 decimals by magnitude; "–" for null. */
export function fmt(x: number | null | undefined): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  return x.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** `12.3 ms`, `6.2×`, `41.5 %`. */
function withUnit(x: number | null, unit: string): string {
  const v = fmt(x);
  if (v === '–') return v;
  return unit === '×' ? `${v}×` : `${v} ${unit}`;
}

/** `met`, `MISSED`, `not measured` (a target but no value), or `` (no target). */
export function verdict(r: SummaryRow): string {
  return r.target ? (r.met ? 'met' : r.value === null ? 'not measured' : 'MISSED') : '';
}

/** The summary as readable console lines (`section  figure: value [target: met]  (peer: value)  note`). */
export function summaryLines(rows: SummaryRow[]): string[] {
  return rows.map((r) => {
    const target = r.target ? `  [target ${r.target.op} ${withUnit(r.target.value, r.unit)}: ${verdict(r)}]` : '';
    const peer = r.peer ? `  (${r.peer.label}: ${withUnit(r.peer.value, r.unit)})` : '';
    return `${r.section.padEnd(8)} ${r.figure}: ${withUnit(r.value, r.unit)}${target}${peer}${r.note ? `; ${r.note}` : ''}`;
  });
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The Markdown report: heading with the machine and run, the summary table (figure, measured, target, result,
 * peer, note), the chart (`chartFile`, relative to the report), and the sections that were skipped or failed.
 */
export function renderMarkdown(f: BenchFigures, rows: SummaryRow[] = summarise(f), chartFile = 'report.png'): string {
  const out: string[] = [];
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  out.push('# Warden benchmark report', '');
  out.push(`Measured ${f.machine.startedAt} on ${f.cores} × ${f.machine.cpu}, node ${f.machine.node}, in ${fmt(f.elapsedS)} s${f.options.quick ? ' (**--quick**: shortened measurements, a smoke test, not figures to quote)' : ''}${f.options.only ? `; sections: ${f.options.only.join(', ')}` : ''}.`);
  out.push(`Load average (1 / 5 / 15 min) ${la(f.machine.loadAvgStart)} at the start, ${la(f.machine.loadAvgEnd)} at the end: figures are as measured, depressed by whatever else the machine was running.`, '');
  const met = rows.filter((r) => r.target && r.met).length;
  const targets = rows.filter((r) => r.target).length;
  out.push(`**${met} of ${targets} targets met.**${targets > met ? ` Missed: ${rows.filter((r) => r.target && !r.met).map((r) => r.figure).join('; ')}.` : ''}`, '');
  out.push(`![Headline figures against their targets and peers](${chartFile})`, '');
  out.push('| Section | Figure | Measured | Target | Result | Peer (measured beside it) | Note |', '| --- | --- | ---: | ---: | --- | --- | --- |');
  for (const r of rows) {
    out.push(`| ${r.section} | ${mdCell(r.figure)} | ${withUnit(r.value, r.unit)} | ${r.target ? `${r.target.op} ${withUnit(r.target.value, r.unit)}` : ''} | ${r.target ? (r.met ? 'met' : r.value === null ? '**not measured**' : '**MISSED**') : ''} | ${r.peer ? `${mdCell(r.peer.label)}: ${withUnit(r.peer.value, r.unit)}` : ''} | ${mdCell(r.note ?? '')} |`);
  }
  const notSelected = SECTIONS.filter((s) => f.sections[s]?.status === 'skipped' && f.sections[s]?.note === NOT_SELECTED);
  out.push('', '## Sections', '', '| Section | Status | Seconds | Note |', '| --- | --- | ---: | --- |');
  for (const s of SECTIONS) {
    const st = f.sections[s];
    if (!st || notSelected.includes(s)) continue;
    out.push(`| ${s} | ${st.status === 'failed' ? '**failed**' : st.status} | ${st.seconds ?? ''} | ${mdCell(st.note ?? '')} |`);
  }
  if (notSelected.length) out.push('', `Not selected (--only): ${notSelected.join(', ')}.`);
  if (f.frames) {
    out.push('', '## Frame analyzer backends (per core)', '', '| Backend | 640×360 single | 640×360 batched | batch | ms/frame | ÷ wasm | model alone | ÷ wasm |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const b of f.frames.backends) out.push(`| ${b.backend} | ${fmt(b.frame640SingleFps)} | ${fmt(b.frame640BatchedFps)} | ${b.bestBatch} | ${fmt(b.msPerFrame)} | ${fmt(b.ratioToWasm)}× | ${fmt(b.modelOnlyFps)} | ${fmt(b.modelRatioToWasm)}× |`);
  }
  if (f.capacity) {
    out.push('', '## Capacity steps', '', '| Streams | Held | Sample p95 (ms) | Chat verdict p99 (ms) | Panic p99 (ms) | Limited by |', '| ---: | --- | ---: | ---: | ---: | --- |');
    for (const a of f.capacity.attempts) out.push(`| ${a.streams} | ${a.ok ? 'yes' : 'no'} | ${fmt(a.sampleLatencyP95Ms)} | ${fmt(a.chatVerdictP99Ms)} | ${fmt(a.panicP99Ms)} | ${mdCell(limitText(a.limitedBy))} |`);
  }
  out.push('', 'The figures as one JSON object: `figures.json` beside this file (and the last line of `npm run bench -- --json`).', '');
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Chart geometry (SVG user units = CSS px; the PNG is rendered at {@link CHART_SCALE}×). */
export const CHART = { width: 1500, columns: 3, margin: 24, gap: 18, panelHeight: 132, headerHeight: 100, footerHeight: 34 } as const;
export const CHART_SCALE = 2;

const COLOURS = { met: '#2e7d32', missed: '#c62828', ours: '#1558b0', peer: '#9e9e9e', target: '#212121', text: '#212121', muted: '#616161', grid: '#e0e0e0' };

/** The chart's size in SVG units for `panels` panels (the PNG is that times {@link CHART_SCALE}). */
export function chartSize(panels: number): { width: number; height: number } {
  const rowsN = Math.max(1, Math.ceil(panels / CHART.columns));
  return { width: CHART.width, height: CHART.headerHeight + rowsN * (CHART.panelHeight + CHART.gap) + CHART.footerHeight };
}

/**
 * The chart as SVG: a header (machine, date, targets met), then one panel per summary row: a horizontal bar for
 * the figure (green when its target is met, red when missed, blue without a target), a grey bar for its peer, and
 * the target as a dashed vertical line; a panel says whether lower or higher is better.
 */
export function renderChartSvg(f: BenchFigures, rows: SummaryRow[] = summarise(f)): string {
  const { width, height } = chartSize(rows.length);
  const pw = (width - 2 * CHART.margin - (CHART.columns - 1) * CHART.gap) / CHART.columns;
  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`);
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const met = rows.filter((r) => r.target && r.met).length;
  const targets = rows.filter((r) => r.target).length;
  s.push(`<text x="${CHART.margin}" y="36" font-size="24" font-weight="bold" fill="${COLOURS.text}">Warden benchmark${f.options.quick ? ' (quick smoke run)' : ''}: ${met} of ${targets} targets met</text>`);
  s.push(`<text x="${CHART.margin}" y="62" font-size="14" fill="${COLOURS.muted}">${esc(`${f.machine.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${f.cores} × ${f.machine.cpu} · node ${f.machine.node} · load ${f.machine.loadAvgStart.map((x) => x.toFixed(1)).join('/')} → ${f.machine.loadAvgEnd.map((x) => x.toFixed(1)).join('/')} · ${fmt(f.elapsedS)} s`)}</text>`);
  const notMeasured = SECTIONS.filter((n) => f.sections[n] && f.sections[n]!.status !== 'ok' && f.sections[n]!.note !== NOT_SELECTED)
    .map((n) => `${n} ${f.sections[n]!.status}${f.sections[n]!.note ? ` (${f.sections[n]!.note!.slice(0, 90)})` : ''}`);
  if (notMeasured.length) s.push(`<text x="${CHART.margin}" y="84" font-size="13" fill="${COLOURS.missed}">${esc(`Not measured: ${notMeasured.join('; ')}`.slice(0, 200))}</text>`);
  rows.forEach((r, i) => {
    const x = CHART.margin + (i % CHART.columns) * (pw + CHART.gap);
    const y = CHART.headerHeight + Math.floor(i / CHART.columns) * (CHART.panelHeight + CHART.gap);
    s.push(panel(r, x, y, pw, CHART.panelHeight));
  });
  const legendY = height - 14;
  const legend: [string, string][] = [[COLOURS.met, 'target met'], [COLOURS.missed, 'target missed'], [COLOURS.ours, 'no target'], [COLOURS.peer, 'peer, measured beside it']];
  let lx = CHART.margin;
  for (const [c, label] of legend) {
    s.push(`<rect x="${lx}" y="${legendY - 11}" width="14" height="12" fill="${c}"/><text x="${lx + 20}" y="${legendY}" font-size="13" fill="${COLOURS.muted}">${esc(label)}</text>`);
    lx += 30 + label.length * 7.5;
  }
  s.push(`<line x1="${lx}" y1="${legendY - 12}" x2="${lx}" y2="${legendY + 2}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="4 3"/><text x="${lx + 8}" y="${legendY}" font-size="13" fill="${COLOURS.muted}">target</text>`);
  s.push('</svg>');
  return s.join('\n');
}

/** One figure's panel: title, value bar, peer bar, target line, the scale's ends. */
function panel(r: SummaryRow, x: number, y: number, w: number, h: number): string {
  const p: string[] = [];
  p.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="#fafafa" stroke="${COLOURS.grid}"/>`);
  const title = r.figure.length > 58 ? `${r.figure.slice(0, 56)}…` : r.figure;
  p.push(`<text x="${x + 12}" y="${y + 22}" font-size="14" font-weight="bold" fill="${COLOURS.text}">${esc(title)}</text>`);
  const sub = `${r.unit}, ${r.better} is better${r.target ? ` · target ${r.target.op} ${withUnit(r.target.value, r.unit)}: ${verdict(r)}` : ''}`;
  p.push(`<text x="${x + 12}" y="${y + 40}" font-size="12" fill="${r.target && !r.met ? COLOURS.missed : COLOURS.muted}">${esc(sub)}</text>`);
  const labelW = 150;
  const bx = x + 12 + labelW;
  const bw = w - 24 - labelW - 70;
  const bars: { label: string; value: number | null; colour: string }[] = [
    { label: r.label ?? 'Warden', value: r.value, colour: r.target ? (r.met ? COLOURS.met : COLOURS.missed) : COLOURS.ours },
  ];
  if (r.peer) bars.push({ label: r.peer.label, value: r.peer.value, colour: COLOURS.peer });
  const max = Math.max(...bars.map((b) => b.value ?? 0), r.target?.value ?? 0) * 1.08 || 1;
  const barH = 22;
  bars.forEach((b, i) => {
    const by = y + 54 + i * (barH + 8);
    const label = b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label;
    p.push(`<text x="${x + 12}" y="${by + 16}" font-size="12" fill="${COLOURS.muted}">${esc(label)}</text>`);
    p.push(`<rect x="${bx}" y="${by}" width="${bw}" height="${barH}" fill="#ffffff" stroke="${COLOURS.grid}"/>`);
    if (b.value === null) {
      p.push(`<text x="${bx + 6}" y="${by + 16}" font-size="12" fill="${COLOURS.muted}">not measured</text>`);
    } else {
      const len = Math.max(1, (Math.max(0, b.value) / max) * bw);
      p.push(`<rect x="${bx}" y="${by}" width="${len.toFixed(1)}" height="${barH}" fill="${b.colour}"/>`);
      p.push(`<text x="${(bx + bw + 6).toFixed(1)}" y="${by + 16}" font-size="13" font-weight="bold" fill="${COLOURS.text}">${esc(withUnit(b.value, r.unit === '×' || r.unit === '%' ? r.unit : ''))}</text>`);
    }
  });
  if (r.target) {
    const tx = bx + (r.target.value / max) * bw;
    const top = y + 50;
    const bottom = y + 54 + bars.length * (barH + 8) - 4;
    p.push(`<line x1="${tx.toFixed(1)}" y1="${top}" x2="${tx.toFixed(1)}" y2="${bottom}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="4 3"/>`);
    p.push(`<text x="${tx.toFixed(1)}" y="${bottom + 14}" font-size="11" text-anchor="middle" fill="${COLOURS.target}">${esc(fmt(r.target.value))}</text>`);
  }
  return p.join('\n');
}

/** Renders the chart SVG to PNG with sharp (librsvg) at {@link CHART_SCALE}×. @throws Error when the SVG is invalid. */
export async function renderChartPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * CHART_SCALE }).png({ compressionLevel: 9 }).toBuffer();
}

/** The figures with their summary, as the JSON line and figures.json carry them. */
export function figuresJson(f: BenchFigures, rows: SummaryRow[] = summarise(f)): BenchFigures & { summary: SummaryRow[] } {
  return { ...f, summary: rows };
}

/**
 * Writes `report.md`, `report.png` and `figures.json` into `dir` (created if missing).
 * @returns the three paths.
 * @throws Error when the directory cannot be written or the chart cannot be rendered.
 */
export async function writeReport(f: BenchFigures, dir: string): Promise<{ markdown: string; png: string; json: string }> {
  await mkdir(dir, { recursive: true });
  const rows = summarise(f);
  const files = { markdown: path.join(dir, 'report.md'), png: path.join(dir, 'report.png'), json: path.join(dir, 'figures.json') };
  await writeFile(files.markdown, renderMarkdown(f, rows, 'report.png'));
  await writeFile(files.png, await renderChartPng(renderChartSvg(f, rows)));
  await writeFile(files.json, `${JSON.stringify(figuresJson(f, rows), null, 2)}\n`);
  return files;
}
