/**
 * Trust-gates benchmark (issue 6): the figures behind "a panic press reaches every online moderator within a
 * fraction of a second", "a ban cuts a performer off within a second on any node" and the cost of watching faces.
 *   faces: FaceAnalyzer frames per second per core at 640×360, with and without faces (the cascade), and the
 *          sampled-frame rate it sustains at FACE_EVERY_N (bench/gates-faces.ts)
 *   panic: press (`POST /api/alerts/panic`) → `raised` on two moderators' SSE streams, p50/p99/max, while 20 RTMP
 *          broadcasts are tapped and analysed; target p99 < 200 ms (bench/gates-panic.ts)
 *   ban:   ban on node A → the publisher's RTMP connection closed by node B (a second `warden serve` process),
 *          p50/p99/max; target p99 < 1 s (bench/gates-ban.ts)
 * Every section runs on its own throw-away database, Redis prefix and data directory and removes them, and the
 * processes it started, when it ends or fails. About 1.5 minutes. Run alone with `npx tsx bench/gates.ts`.
 */
import { benchBanAcrossNodes, type BanBench } from './gates-ban.ts';
import { benchFaces, type FacesBench } from './gates-faces.ts';
import { benchPanic, type PanicBench } from './gates-panic.ts';
import { isMain } from './gates-common.ts';

export type { BanBench, FacesBench, PanicBench };

/** Result of {@link benchGates}. */
export interface GatesBench { faces: FacesBench; panic: PanicBench; ban: BanBench }

/**
 * Runs the three trust-gate measurements one after another (so they do not load each other) and prints their
 * lines. @throws Error from the first section that fails (its own clean-up has run by then).
 */
export async function benchGates(opts: { print?: (line: string) => void; faceSeconds?: number; banRounds?: number } = {}): Promise<GatesBench> {
  const faces = await benchFaces({ seconds: opts.faceSeconds, print: opts.print });
  const panic = await benchPanic({ print: opts.print });
  const ban = await benchBanAcrossNodes({ rounds: opts.banRounds, print: opts.print });
  return { faces, panic, ban };
}

/** The panic section's JSON figures: latencies, target, and the load the presses ran under. */
export function panicFigures(p: PanicBench) {
  return {
    deliveryMs: p.deliveryMs, stages: p.stages, responseMs: p.responseMs, idle: p.idle, targetP99Ms: p.targetP99Ms, missed: p.missed,
    alerts: p.alerts, moderators: p.moderators, streams: p.streams, workerProcesses: p.workerProcesses,
    frameBackend: p.frameBackend, analysedDuringAlerts: p.analysedDuringAlerts, samplesAtEnd: p.samplesAtEnd,
    serverLoad: p.serverLoad,
  };
}

/** The ban section's JSON figures. */
export function banFigures(b: BanBench) {
  return { disconnectMs: b.disconnectMs, responseMs: b.responseMs, targetP99Ms: b.targetP99Ms, rounds: b.rounds, notDisconnected: b.notDisconnected };
}

/** The faces section's JSON figures (fps per core with and without faces, the cascade, FACE_EVERY_N). */
export function facesFigures(f: FacesBench) {
  return {
    backend: f.backend, networks: f.networks, size: `${f.width}x${f.height}`,
    tfjs: f.tfjs ? { withFacesFpsPerCore: f.tfjs.withFaces.fpsPerCore, withoutFacesFpsPerCore: f.tfjs.withoutFaces.fpsPerCore } : null,
    withFacesFpsPerCore: f.withFaces.fpsPerCore, withoutFacesFpsPerCore: f.withoutFaces.fpsPerCore,
    facesPerFrame: f.withFaces.facesPerFrame, cascadeRatio: f.cascadeRatio, perFaceCpuMs: f.perFaceCpuMs,
    faceEveryN: f.faceEveryN, effective: f.effective,
  };
}

/** The JSON figures of {@link benchGates}, compact: latencies, targets, throughput and the load the panic run was under. */
export function gatesFigures(g: GatesBench) {
  return { panic: panicFigures(g.panic), ban: banFigures(g.ban), faces: facesFigures(g.faces) };
}

if (isMain(import.meta.url)) {
  benchGates().then((g) => console.log(JSON.stringify(gatesFigures(g))), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
