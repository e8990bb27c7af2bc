/**
 * A pool of frame-worker processes (child_process.fork of analyzer/frame-process.ts). Each child loads its own
 * model and consumes the `frames` queue; the pool restarts a child that dies (after 1 s) and reports children's
 * outcomes (for the parent's metrics). Children get the configuration over IPC, never from the environment.
 *
 * A child that dies mid-batch (kill -9, out of memory) leaves its jobs active with locks nobody renews: the stalled
 * check of the other children, or of its replacement, puts them back in the queue (analyzer/workers.ts). Each child
 * also reports progress (a job started, completed or failed, or the queue found empty; at most every 500 ms), so
 * the {@link WorkerWatchdog} can judge each one and {@link FrameWorkerPool.consumers} lets it kill a stuck one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { FrameOutcome } from './processors/analyze-frame.ts';
import type { WatchedConsumer } from './workers.ts';

const entry = fileURLToPath(new URL('./frame-process.ts', import.meta.url));

/** Messages a child sends to the pool. */
export type ChildMessage =
  | { type: 'ready'; backend: string }
  | { type: 'outcome'; outcome: FrameOutcome }
  | { type: 'progress'; busy: boolean }
  | { type: 'fatal'; error: string };

/** One place in the pool: the child holding it now and when that child last showed progress. */
interface Slot { index: number; child: ChildProcess | null; progressAt: number; busy: boolean; restarts: number }

export class FrameWorkerPool {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private readonly readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private ready = 0;
  /** The backend children report (e.g. 'wasm'), once one is ready. */
  backend: string | null = null;

  constructor(private readonly opts: { config: Config; size: number; logger: Logger; onOutcome?: (o: FrameOutcome) => void }) {}

  /**
   * Forks the children; resolves when every one has loaded its model.
   * @throws Error when a child fails to start (cannot connect, cannot load the model) before all are ready.
   */
  async start(): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) {
      const slot: Slot = { index: i, child: null, progressAt: Date.now(), busy: false, restarts: 0 };
      this.slots.push(slot);
      this.spawn(slot);
    }
    await new Promise<void>((resolve, reject) => {
      if (this.ready >= this.opts.size) resolve(); else this.readyWaiters.push({ resolve, reject });
    });
  }

  /** Process ids of the children running now (tests kill them; operators find them). */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid !== undefined && s.child.exitCode === null ? [s.child.pid] : []));
  }

  /** Children restarted after they died or were recycled, over the pool's life. */
  get restarts(): number {
    return this.slots.reduce((n, s) => n + s.restarts, 0);
  }

  /** One watched consumer of the `frames` queue per child: recreating it kills the child (the pool restarts it). */
  consumers(): WatchedConsumer[] {
    return this.slots.map((slot) => ({
      queue: 'frames',
      lastProgressAt: () => slot.progressAt,
      busy: () => slot.busy,
      recreate: async (reason: string) => {
        const child = slot.child;
        if (!child || child.exitCode !== null) return;
        this.opts.logger.warn({ worker: slot.index, pid: child.pid, reason }, 'frame worker stuck: killing it (it is restarted)');
        slot.progressAt = Date.now();
        child.kill('SIGKILL');
      },
    }));
  }

  private spawn(slot: Slot): void {
    const index = slot.index;
    const log = this.opts.logger.child({ worker: index });
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    slot.child = child;
    slot.progressAt = Date.now(); // loading the model counts as progress: the watchdog judges it from now
    slot.busy = false;
    let ready = false;
    // the analyzer yields the CPU to the API and ingest process when both want it (panic alerts must not wait)
    if (this.opts.config.analyzer.nice > 0 && child.pid) {
      try { os.setPriority(child.pid, this.opts.config.analyzer.nice); } catch (err) { log.warn({ err: errorText(err) }, 'could not lower the frame worker\'s priority'); }
    }
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') {
        slot.progressAt = Date.now();
        slot.busy = m.busy;
      }
      else if (m.type === 'ready') {
        this.backend = m.backend;
        slot.progressAt = Date.now();
        if (!ready) {
          ready = true;
          if (++this.ready >= this.opts.size) this.readyWaiters.splice(0).forEach((w) => w.resolve());
        }
      } else if (m.type === 'outcome') {
        slot.progressAt = Date.now();
        this.opts.onOutcome?.(m.outcome);
      } else if (m.type === 'fatal') {
        log.error({ error: m.error }, 'frame worker failed to start');
        this.readyWaiters.splice(0).forEach((w) => w.reject(new Error(`frame worker ${index} failed to start: ${m.error}`)));
      }
    });
    child.on('exit', (code, signal) => {
      if (slot.child === child) slot.child = null;
      if (this.stopping) return;
      log.warn({ code, signal, pid: child.pid }, 'frame worker exited; restarting in 1 s');
      setTimeout(() => {
        if (this.stopping) return;
        slot.restarts++;
        this.spawn(slot);
      }, 1000).unref();
    });
    child.send({ type: 'start', config: this.opts.config });
  }

  /** Asks every child to finish its jobs and exit; kills any still running after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.child).filter((c): c is ChildProcess => c !== null).map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.send({ type: 'stop' }, (err) => { if (err) child.kill('SIGTERM'); });
    })));
  }
}
