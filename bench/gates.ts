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

/** The JSON figures of {@link benchGates}, compact: latencies, targets, throughput and the load the panic run was under. */
export function gatesFigures(g: GatesBench) {
  return {
    panic: {
      deliveryMs: g.panic.deliveryMs, stages: g.panic.stages, responseMs: g.panic.responseMs, idle: g.panic.idle, targetP99Ms: g.panic.targetP99Ms, missed: g.panic.missed,
      alerts: g.panic.alerts, moderators: g.panic.moderators, streams: g.panic.streams, workerProcesses: g.panic.workerProcesses,
      frameBackend: g.panic.frameBackend, analysedDuringAlerts: g.panic.analysedDuringAlerts, samplesAtEnd: g.panic.samplesAtEnd,
      serverLoad: g.panic.serverLoad,
    },
    ban: { disconnectMs: g.ban.disconnectMs, responseMs: g.ban.responseMs, targetP99Ms: g.ban.targetP99Ms, rounds: g.ban.rounds, notDisconnected: g.ban.notDisconnected },
    faces: {
      backend: g.faces.backend, size: `${g.faces.width}x${g.faces.height}`,
      withFacesFpsPerCore: g.faces.withFaces.fpsPerCore, withoutFacesFpsPerCore: g.faces.withoutFaces.fpsPerCore,
      facesPerFrame: g.faces.withFaces.facesPerFrame, cascadeRatio: g.faces.cascadeRatio, perFaceCpuMs: g.faces.perFaceCpuMs,
      faceEveryN: g.faces.faceEveryN, effective: g.faces.effective,
    },
  };
}

if (isMain(import.meta.url)) {
  benchGates().then((g) => console.log(JSON.stringify(gatesFigures(g))), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
