// The benchmark report (bench/report.ts) on a recorded figures object (tests/fixtures/bench-figures.json: the
// JSON line of a full `npm run bench -- --json` on this machine), and a smoke run of the bench itself
// (`--quick --only text,review --json`): the Markdown table, the PNG chart decoded with sharp, and the JSON line.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { costModel, costModelLine } from '../bench/capacity-model.ts';
import { CHART_SCALE, capacitySchema, chartSize, fmt, renderChartPng, renderChartSvg, renderMarkdown, summarise, writeReport, type BenchFigures, type SummaryRow } from '../bench/report.ts';
import { parseBenchArgs } from '../bench/options.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const dirs: string[] = [];

async function recorded(): Promise<BenchFigures> {
  const { summary: _summary, ...f } = JSON.parse(await readFile(path.join(root, 'tests/fixtures/bench-figures.json'), 'utf8')) as BenchFigures & { summary?: unknown };
  return f;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'warden-bench-report-'));
  dirs.push(d);
  return d;
}

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The body rows of the Markdown summary table (after its header and separator), split into cells. */
function summaryTable(md: string): string[][] {
  const lines = md.split('\n');
  const head = lines.findIndex((l) => l.startsWith('| Section | Figure | Measured | Target | Result | Peer'));
  expect(head, 'the summary table header').toBeGreaterThan(0);
  const body: string[][] = [];
  for (const l of lines.slice(head + 2)) {
    if (!l.startsWith('|')) break;
    body.push(l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return body;
}

/** Pixels of the decoded PNG within `tolerance` of the colour `hex` (each channel). */
async function countColour(png: Buffer, hex: string, tolerance = 12): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (Math.abs(data[i]! - r!) <= tolerance && Math.abs(data[i + 1]! - g!) <= tolerance && Math.abs(data[i + 2]! - b!) <= tolerance) n++;
  }
  return n;
}

const row = (rows: SummaryRow[], id: string) => {
  const r = rows.find((x) => x.id === id);
  expect(r, `summary row ${id}`).toBeDefined();
  return r!;
};

describe('the benchmark report on recorded figures', () => {
  it('summarises every measured section with targets judged from the figures and peers beside them', async () => {
    const f = await recorded();
    const rows = summarise(f);
    for (const s of ['frames', 'tap', 'text', 'chat', 'audio', 'review', 'faces', 'panic', 'ban', 'flag'] as const) {
      expect(rows.some((r) => r.section === s), `a row for ${s}`).toBe(true);
    }
    const p99 = row(rows, 'text.verdictP99');
    expect(p99.value).toBe(f.text!.p99Us);
    expect(p99.met).toBe(f.text!.p99Us < 1000);
    expect(p99.peer).toEqual({ label: 'obscenity alone', value: f.text!.obscenityAlone.p99Us });
    expect(row(rows, 'chat.fanOutP99').met).toBe(f.chat!.p99Ms < 50);
    expect(row(rows, 'panic.deliveryP99').met).toBe(f.gates!.panic!.deliveryMs.p99 < 200 && f.gates!.panic!.missed === 0);
    expect(row(rows, 'ban.disconnectP99').met).toBe(f.gates!.ban!.disconnectMs.p99 < 1000 && f.gates!.ban!.notDisconnected === 0);
    expect(row(rows, 'frames.machineFps').met).toBe(f.frames!.machine.fps >= 100);
    expect(row(rows, 'tap.keyframesCpuSPerMin').peer?.value).toBe(f.tap!.allFramesCpuSPerMin);
    expect(row(rows, 'flag.captureToCaseP95').value).toBe(f.timeToFlag!.p95Ms);
    const wasm = f.frames!.backends.find((b) => b.backend === 'wasm')!;
    for (const b of f.frames!.backends.filter((x) => x.backend !== 'wasm')) expect(row(rows, `frames.${b.backend}.fpsPerCore`).peer?.value).toBe(wasm.frame640BatchedFps);
    // nothing from a section that did not run
    expect(rows.some((r) => r.section === 'capacity')).toBe(f.capacity !== undefined);
  });

  it('writes a Markdown table with one line per figure, its target and met/MISSED, and the chart', async () => {
    const f = await recorded();
    const rows = summarise(f);
    const md = renderMarkdown(f, rows);
    const table = summaryTable(md);
    expect(table).toHaveLength(rows.length);
    for (const [i, r] of rows.entries()) {
      const [section, figure, measured, target, result] = table[i]!;
      expect(section).toBe(r.section);
      expect(figure).toBe(r.figure.replace(/\|/g, '\\|'));
      expect(measured).toContain(fmt(r.value));
      if (r.target) {
        expect(target).toContain(fmt(r.target.value));
        expect(result).toBe(r.met ? 'met' : r.value === null ? '**not measured**' : '**MISSED**');
      } else {
        expect(target).toBe('');
        expect(result).toBe('');
      }
    }
    const met = rows.filter((r) => r.met).length;
    expect(md).toContain(`**${met} of ${rows.filter((r) => r.target).length} targets met.**`);
    expect(md).toContain('![Headline figures against their targets and peers](report.png)');
    expect(md).toContain(`on ${f.cores} × ${f.machine.cpu}`);

    // the chat verdict's p99 on either side of its 1 ms target: the table and the count follow
    const fast = { ...f, text: { ...f.text!, p99Us: 100 } };
    const slow = { ...f, text: { ...f.text!, p99Us: 5000 } };
    const verdictRow = (md: string) => summaryTable(md).find((c) => c[1] === 'chat verdict p99')!;
    expect(verdictRow(renderMarkdown(fast))[4]).toBe('met');
    const slowMd = renderMarkdown(slow);
    expect(verdictRow(slowMd).slice(2, 5)).toEqual(['5,000 µs', '< 1,000 µs', '**MISSED**']);
    expect(slowMd).toMatch(/Missed: [^\n]*chat verdict p99/);
    expect(summarise(slow).filter((r) => r.met).length).toBe(summarise(fast).filter((r) => r.met).length - 1);
  });

  it('renders the chart to a PNG of the expected size with met bars in green and missed ones in red', async () => {
    const f = await recorded();
    const dir = await tempDir();
    const files = await writeReport(f, dir);
    const png = await readFile(files.png);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const meta = await sharp(png).metadata();
    const expected = chartSize(summarise(f).length);
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(expected.width * CHART_SCALE);
    expect(meta.height).toBe(expected.height * CHART_SCALE);
    expect(meta.height!).toBeGreaterThan(600);
    expect(meta.height!).toBeLessThan(8000);
    const stats = await sharp(png).stats();
    expect(stats.channels[0]!.min).toBeLessThan(60); // text and bars were drawn, not a blank page
    const green = await countColour(png, '#2e7d32');
    expect(green, 'met bars').toBeGreaterThan(1000);

    // the chat verdict's p99 over its 1 ms target turns its bar (and its subtitle) red
    const met = await renderChartPng(renderChartSvg({ ...f, text: { ...f.text!, p99Us: 100 } }));
    const missed = await renderChartPng(renderChartSvg({ ...f, text: { ...f.text!, p99Us: 5000 } }));
    expect(await countColour(missed, '#c62828')).toBeGreaterThan((await countColour(met, '#c62828')) + 1000);
    expect(await countColour(met, '#2e7d32')).toBeGreaterThan((await countColour(missed, '#2e7d32')) + 1000);

    const md = await readFile(files.markdown, 'utf8');
    expect(md).toContain('](report.png)');
    const json = JSON.parse(await readFile(files.json, 'utf8')) as { summary: SummaryRow[]; text: unknown };
    expect(json.summary.map((r) => r.id)).toEqual(summarise(f).map((r) => r.id));
    expect(json.text).toEqual(f.text);
  });

  it('reports capacity attempts and the held figure when bench/capacity.ts provided them', async () => {
    // constructed beside the recorded run, in the shape bench/capacity.ts returns (in-process: a step whose samples
    // were never analysed has an infinite p95, which the schema turns into null as JSON would)
    const capacity = capacitySchema.parse({
      streamsHeld: 80, targetStreams: 100, met: false, timeToFlagP95Ms: 4200,
      attempts: [
        { streams: 40, sampleLatencyP95Ms: 1200, chatVerdictP99Ms: 0.3, panicP99Ms: 40, ok: true, limitedBy: [], cpu: { cores: 2 } },
        { streams: 80, sampleLatencyP95Ms: 3900, chatVerdictP99Ms: 0.5, panicP99Ms: 90, ok: true, limitedBy: [] },
        { streams: 120, sampleLatencyP95Ms: Infinity, chatVerdictP99Ms: 0.6, panicP99Ms: 150, ok: false, limitedBy: ['sample p95 over 5 s', 'frame workers 2.0 cores'] },
      ],
    });
    expect(capacity.attempts[2]!.sampleLatencyP95Ms).toBeNull();
    expect(capacity.attempts[0]!.cpu).toEqual({ cores: 2 }); // the step's other fields are kept
    expect(capacity.targetStreams).toBe(100);
    const f: BenchFigures = { ...(await recorded()), capacity };
    const rows = summarise(f);
    expect(row(rows, 'capacity.streamsHeld')).toMatchObject({ value: 80, met: false, target: { op: '≥', value: 100 } });
    expect(row(rows, 'capacity.sampleLatencyP95')).toMatchObject({ value: 3900, met: true });
    expect(row(rows, 'capacity.timeToFlagP95')).toMatchObject({ value: 4200, met: true });
    const md = renderMarkdown(f, rows);
    expect(md).toContain('| 120 | no | – | 0.6 | 150 | sample p95 over 5 s; frame workers 2.0 cores |');
    expect(row(rows, 'capacity.streamsHeld').note).toContain('limited by sample p95 over 5 s; frame workers 2.0 cores');
    expect(summaryTable(md).find((c) => c[1] === 'concurrent 720p30 streams held on one node')?.[4]).toBe('**MISSED**');
    expect(row(rows, 'capacity.sampleLatencyP95').figure).toBe('sample capture → analysed p95, at 80 streams');
    expect(rows.some((r) => r.id === 'capacity.cpuPerStream')).toBe(false); // no cost model given

    // the cost model from two steps held at the base interval: per stream and fixed, the cores the target needs
    const cpu = (groups: Record<string, number>) => ({ seconds: 20, cores: 2, machineBusy: Object.values(groups).reduce((a, b) => a + b, 0), groups });
    const model = costModel([
      { streams: 10, atBaseInterval: true, cpu: cpu({ taps: 0.2, frameWorkers: 0.3, warden: 0.45, other: 0.1, publishers: 0.04, transcription: 0.5 }) },
      { streams: 20, atBaseInterval: true, cpu: cpu({ taps: 0.4, frameWorkers: 0.6, warden: 0.5, other: 0.12, publishers: 0.08, transcription: 0.2 }) },
      { streams: 40, atBaseInterval: false, cpu: cpu({ taps: 0.7, frameWorkers: 0.5, warden: 0.6, other: 0.15, publishers: 0.16 }) },
    ], 100)!;
    expect(model.from).toEqual([10, 20]);
    expect(model.perStream).toEqual({ taps: 0.02, frameWorkers: 0.03, warden: 0.005, other: 0.002 }); // transcription is elastic: not counted
    expect(model.publishersPerStream).toBe(0.004);
    expect(model.perStreamTotal).toBe(0.057);
    expect(model.fixedCores).toBe(0.48); // warden 0.4 + other 0.08
    expect(model.projectedStreams).toBe(26); // (2 − 0.48) ÷ 0.057
    expect(model.coresForTarget).toBe(6.2);
    expect(costModelLine(model)).toContain('100 streams would need about 6.2 cores');
    expect(costModel([{ streams: 10, atBaseInterval: true, cpu: cpu({ taps: 0.2 }) }], 100)).toBeNull();
    const modelled = summarise({ ...f, capacity: capacitySchema.parse({ ...capacity, costModel: model }) });
    expect(row(modelled, 'capacity.cpuPerStream')).toMatchObject({ value: 5.7, unit: '% of a core' });
    expect(row(modelled, 'capacity.coresForTarget')).toMatchObject({ value: 6.2, met: false, target: { op: '≤', value: 2 } });

    // no step held: the first step's figures say what stopped it; a missing value is "not measured", not met
    const none = summarise({ ...f, capacity: { ...capacity, streamsHeld: 0, timeToFlagP95Ms: null, attempts: [capacity.attempts[2]!] } });
    expect(row(none, 'capacity.chatVerdictP99')).toMatchObject({ figure: 'chat verdict p99 under load, at 120 streams (not held)', value: 0.6, met: true });
    expect(row(none, 'capacity.sampleLatencyP95')).toMatchObject({ value: null, met: false });
    const noneMd = renderMarkdown({ ...f, capacity: { ...capacity, streamsHeld: 0, timeToFlagP95Ms: null, attempts: [capacity.attempts[2]!] } });
    expect(summaryTable(noneMd).find((c) => c[1]!.startsWith('sample capture → analysed p95'))?.slice(2, 5)).toEqual(['–', '< 5,000 ms', '**not measured**']);
  });

  it('parses the bench options and refuses unknown sections', () => {
    expect(parseBenchArgs(['--quick', '--only', 'text,gates', '--json'])).toMatchObject({ quick: true, json: true, only: ['text', 'faces', 'panic', 'ban'] });
    expect(parseBenchArgs([]).only).toBeNull();
    expect(parseBenchArgs(['--out', 'x']).out).toBe(path.resolve('x'));
    expect(() => parseBenchArgs(['--only', 'text,nope'])).toThrow(/unknown section nope/);
    expect(() => parseBenchArgs(['--fast'])).toThrow();
  });
});

describe('npm run bench -- --quick --only text,review --json', () => {
  it('measures those sections, writes the report and ends stdout with one JSON line of the figures', async () => {
    const out = await tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/index.ts'), '--quick', '--only', 'text,review', '--json', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(stdout.endsWith('\n')).toBe(true);
    const f = JSON.parse(lines.at(-1)!) as BenchFigures & { summary: SummaryRow[] };
    expect(f.options).toEqual({ quick: true, only: ['text', 'review'] });
    expect(f.sections.text).toMatchObject({ status: 'ok' });
    expect(f.sections.review).toMatchObject({ status: 'ok' });
    expect(f.sections.frames).toMatchObject({ status: 'skipped' });
    expect(f.text!.p99Us).toBeGreaterThan(0);
    expect(f.text!.msgsPerSecPerCore).toBeGreaterThan(0);
    expect(f.text!.obscenityAlone.msgsPerSec).toBeGreaterThan(0);
    expect(f.review!.auditAppendsPerS.serial).toBeGreaterThan(0);
    expect(f.review!.decisionMs.n).toBe(10);
    expect(f.frames).toBeUndefined();
    expect(f.summary.map((r) => r.id)).toEqual(['text.verdictP99', 'text.verdictsPerSecPerCore', 'review.auditAppendsPerS', 'review.queueListP50', 'review.decisionP50']);
    // the readable lines came first, the JSON line is the only one of its kind
    expect(lines.filter((l) => l.startsWith('{'))).toHaveLength(1);
    expect(stdout).toContain('== summary ==');
    const png = await readFile(path.join(out, 'report.png'));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(summaryTable(await readFile(path.join(out, 'report.md'), 'utf8'))).toHaveLength(5);
  }, 120_000);
});
