/**
 * A pool of frame-worker processes (child_process.fork of analyzer/frame-process.ts). Each child loads its own
 * model and consumes the `frames` queue; the pool restarts a child that dies and reports children's outcomes
 * (for the parent's metrics). Children get the configuration over IPC, never from the environment.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { FrameOutcome } from './processors/analyze-frame.ts';

const entry = fileURLToPath(new URL('./frame-process.ts', import.meta.url));

/** Messages a child sends to the pool. */
export type ChildMessage = { type: 'ready'; backend: string } | { type: 'outcome'; outcome: FrameOutcome } | { type: 'fatal'; error: string };

export class FrameWorkerPool {
  private readonly children = new Set<ChildProcess>();
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
    for (let i = 0; i < this.opts.size; i++) this.spawn(i);
    await new Promise<void>((resolve, reject) => {
      if (this.ready >= this.opts.size) resolve(); else this.readyWaiters.push({ resolve, reject });
    });
  }

  private spawn(index: number): void {
    const log = this.opts.logger.child({ worker: index });
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    this.children.add(child);
    // the analyzer yields the CPU to the API and ingest process when both want it (panic alerts must not wait)
    if (this.opts.config.analyzer.nice > 0 && child.pid) {
      try { os.setPriority(child.pid, this.opts.config.analyzer.nice); } catch (err) { log.warn({ err: errorText(err) }, 'could not lower the frame worker\'s priority'); }
    }
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        this.backend = m.backend;
        if (++this.ready >= this.opts.size) this.readyWaiters.splice(0).forEach((w) => w.resolve());
      } else if (m.type === 'outcome') this.opts.onOutcome?.(m.outcome);
      else if (m.type === 'fatal') {
        log.error({ error: m.error }, 'frame worker failed to start');
        this.readyWaiters.splice(0).forEach((w) => w.reject(new Error(`frame worker ${index} failed to start: ${m.error}`)));
      }
    });
    child.on('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      log.warn({ code, signal }, 'frame worker exited; restarting in 1 s');
      setTimeout(() => { if (!this.stopping) this.spawn(index); }, 1000).unref();
    });
    child.send({ type: 'start', config: this.opts.config });
  }

  /** Asks every child to finish its jobs and exit; kills any still running after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.children].map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.send({ type: 'stop' }, (err) => { if (err) child.kill('SIGTERM'); });
    })));
  }
}
