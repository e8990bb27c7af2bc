/**
 * What a stream costs: the capacity bench's CPU readings turned into a sizing rule. Between two steps that held the
 * base sampling interval (frames analysed in time, sampling never stretched: what the analyzer did is what the streams
 * asked for), each process group's CPU grows by its cost per stream; what is left at zero streams is the fixed load
 * (the serving process's chat, panic and probe traffic, Postgres, Redis). From those: how many streams the machine's
 * cores hold by CPU alone, and how many cores the target needs. Transcription is left out: it runs at the lowest
 * priority on whatever CPU is spare and is shed first (ingest/sampling.ts), so it takes what is there rather than
 * what the streams need. The publishers are the load generator's encoders, remote in production: reported, not counted.
 */
import type { CpuWindow } from './cpu.ts';

/** A measured step, as far as the model reads it. */
export interface ModelStep {
  streams: number;
  cpu: CpuWindow;
  /** Frames analysed within 5 s and sampling at the base interval throughout. */
  atBaseInterval: boolean;
}

/** Result of {@link costModel}. CPU in cores (1 = one core busy). */
export interface CostModel {
  /** The fewest and most streams of the steps the model comes from. */
  from: [number, number];
  /** CPU per stream by process group (transcription left out), and their sum without the publishers. */
  perStream: Record<string, number>;
  perStreamTotal: number;
  /** The load generator's encoders per stream (not part of Warden's cost). */
  publishersPerStream: number;
  /** CPU at zero streams by the same fit (without transcription and publishers). */
  fixedCores: number;
  cores: number;
  /** Streams the cores hold by CPU alone at these costs: (cores − fixed) ÷ per stream. */
  projectedStreams: number;
  /** Cores `targetStreams` would need at these costs. */
  targetStreams: number;
  coresForTarget: number;
}

const ELASTIC = new Set(['transcription']);
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Fits each group's CPU as fixed + per stream × streams (least squares) over the steps that held the base interval.
 * @returns null with fewer than two such steps of different sizes.
 */
export function costModel(steps: ModelStep[], targetStreams: number): CostModel | null {
  const base = steps.filter((s) => s.atBaseInterval).sort((a, b) => a.streams - b.streams);
  if (base.length < 2 || base[0]!.streams === base.at(-1)!.streams) return null;
  const meanN = base.reduce((s, x) => s + x.streams, 0) / base.length;
  const varN = base.reduce((s, x) => s + (x.streams - meanN) ** 2, 0);
  const groups = new Set(base.flatMap((s) => Object.keys(s.cpu.groups)).filter((g) => !ELASTIC.has(g)));
  const perStream: Record<string, number> = {};
  let fixedCores = 0;
  for (const g of groups) {
    const ys = base.map((s) => s.cpu.groups[g] ?? 0);
    const meanY = ys.reduce((s, y) => s + y, 0) / ys.length;
    const cov = base.reduce((s, x, i) => s + (x.streams - meanN) * (ys[i]! - meanY), 0);
    const slope = Math.max(0, cov / varN);
    perStream[g] = round(slope);
    if (g !== 'publishers') fixedCores += Math.max(0, meanY - slope * meanN);
  }
  const publishersPerStream = perStream.publishers ?? 0;
  delete perStream.publishers;
  const perStreamTotal = round(Object.values(perStream).reduce((s, x) => s + x, 0));
  const cores = base.at(-1)!.cpu.cores;
  return {
    from: [base[0]!.streams, base.at(-1)!.streams], perStream, perStreamTotal, publishersPerStream, fixedCores: round(fixedCores, 2), cores,
    projectedStreams: perStreamTotal > 0 ? Math.max(0, Math.floor((cores - fixedCores) / perStreamTotal)) : 0,
    targetStreams, coresForTarget: round(fixedCores + targetStreams * perStreamTotal, 1),
  };
}

/** The model as one line for the bench's output. */
export function costModelLine(m: CostModel): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const parts = Object.entries(m.perStream).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([g, v]) => `${g} ${pct(v)}`);
  return `cost per stream at the base interval (${m.from[0]} → ${m.from[1]} streams): ${parts.join(', ')} = ${pct(m.perStreamTotal)} of a core` +
    ` (publishers ${pct(m.publishersPerStream)} more, not counted), fixed ${m.fixedCores.toFixed(2)} cores: about ${m.projectedStreams} streams on ${m.cores} cores by CPU;` +
    ` ${m.targetStreams} streams would need about ${m.coresForTarget} cores at these costs`;
}
