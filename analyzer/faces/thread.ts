/**
 * Face analysis off the caller's event loop: one worker thread (node:worker_threads) that loads the face models
 * once and analyses images one at a time. Face-api takes about 300 ms of CPU per image; in the API process that
 * would stall every other request on the loop (panic alerts among them), so the API sends images here instead.
 *
 * The thread runs this same file. A worker thread does not inherit tsx's loader from `node --import tsx` (nor
 * from vitest), so it starts from a small bootstrap that registers tsx's ESM hooks inside the thread first and
 * then imports this file: the same code works under `bin/warden` and under vitest.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Face, FaceAnalyzerOptions, FaceResult } from './face-model.ts';

/** Marks the thread's `workerData`, so importing this file elsewhere never starts a thread loop by accident. */
const THREAD_MARK = 'warden-face-thread';

/** Options of {@link FaceThread}. */
export interface FaceThreadOptions extends FaceAnalyzerOptions {
  /** Longest wait for one image, in ms, before the thread is considered stuck and restarted. Default 30 000. */
  timeoutMs?: number;
  /**
   * Images are scaled down (never up) to fit this many pixels on their longest side before detection, and
   * turned upright by their EXIF orientation. Default 1600.
   */
  maxSide?: number;
}

type Request = { id: number; image: Uint8Array };
/** A reply of the thread; `id` -1 with `ok: false`: the thread could not start (tsx or the models). */
type Reply = { id: number; ok: true; result: FaceResult } | { id: number; ok: false; error: string };

interface Pending { resolve: (r: FaceResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/**
 * A face-analysis worker thread, started on first use. `analyze` resolves with the faces found (box in pixels
 * of the scaled image, detector score, estimated age, 128-d descriptor).
 */
export class FaceThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly opts: FaceThreadOptions = {}) {}

  /**
   * The faces in a JPEG, PNG or WebP image, analysed in the worker thread.
   * @throws Error when the image cannot be decoded, the models fail, the thread dies, or `timeoutMs` passes.
   */
  analyze(image: Buffer): Promise<FaceResult> {
    if (this.closed) return Promise.reject(new Error('the face thread is closed'));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<FaceResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`face analysis took longer than ${this.opts.timeoutMs ?? 30_000} ms`));
        this.restart('timed out');
      }, this.opts.timeoutMs ?? 30_000);
      this.pending.set(id, { resolve, reject, timer });
      worker.ref(); // busy: keep the process alive until the answer comes
      // a copy the thread can own (the caller keeps its buffer)
      const copy = new Uint8Array(image.byteLength);
      copy.set(image);
      worker.postMessage({ id, image: copy } satisfies Request, [copy.buffer]);
    });
  }

  /** Stops the thread; pending analyses fail. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.failAll(new Error('the face thread was closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const require = createRequire(import.meta.url);
    // tsx's ESM API (the `import` build: the `require` build resolves its own ESM half relatively and fails here)
    const tsxApi = pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
    const self = pathToFileURL(fileURLToPath(import.meta.url)).href;
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(self)}); })
      .catch((err) => { require('node:worker_threads').parentPort.postMessage({ id: -1, ok: false, error: String(err && err.stack || err) }); });`;
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: { mark: THREAD_MARK, options: { inputSize: this.opts.inputSize, minScore: this.opts.minScore, networks: this.opts.networks, modelCacheDir: this.opts.modelCacheDir, maxSide: this.opts.maxSide ?? 1600 } },
      // the parent's loader flags (e.g. --import tsx) do not apply inside a thread; the bootstrap registers tsx itself
      execArgv: [],
    });
    worker.unref(); // an idle thread never keeps the process alive (it is ref'd while an analysis is pending)
    worker.on('message', (m: Reply) => {
      if (m.id === -1 && !m.ok) { this.failAll(new Error(`face thread failed to start: ${m.error}`)); this.restart('failed to start'); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
    });
    worker.on('error', (err: unknown) => { this.failAll(err instanceof Error ? err : new Error(String(err))); if (this.worker === worker) this.worker = null; });
    worker.on('exit', (code) => { this.failAll(new Error(`face thread exited (code ${code})`)); if (this.worker === worker) this.worker = null; });
    this.worker = worker;
    return worker;
  }

  private restart(why: string): void {
    const w = this.worker;
    this.worker = null;
    this.failAll(new Error(`face thread ${why}`));
    void w?.terminate();
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}

/** The thread's side: load the models once, then analyse images in arrival order. */
async function serveThread(port: NonNullable<typeof parentPort>, options: FaceAnalyzerOptions & { maxSide: number }): Promise<void> {
  const [{ FaceAnalyzer }, { default: sharp }] = await Promise.all([import('./face-model.ts'), import('sharp')]);
  const loading = FaceAnalyzer.load({ inputSize: options.inputSize, minScore: options.minScore, networks: options.networks, modelCacheDir: options.modelCacheDir });
  let chain: Promise<unknown> = Promise.resolve();
  port.on('message', (m: Request) => {
    chain = chain.then(async () => {
      try {
        const analyzer = await loading;
        // upright (EXIF orientation) and no larger than needed: the detector works on a few hundred pixels anyway
        const upright = await sharp(Buffer.from(m.image.buffer, m.image.byteOffset, m.image.byteLength))
          .rotate().resize({ width: options.maxSide, height: options.maxSide, fit: 'inside', withoutEnlargement: true })
          .jpeg({ quality: 95 }).toBuffer();
        const result = await analyzer.analyze(upright);
        port.postMessage({ id: m.id, ok: true, result: { ms: result.ms, faces: result.faces.map((f: Face) => ({ ...f, descriptor: Float32Array.from(f.descriptor) })) } } satisfies Reply);
      } catch (err) {
        port.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply);
      }
    });
  });
}

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === THREAD_MARK) {
  const port = parentPort;
  serveThread(port, (workerData as { options: FaceAnalyzerOptions & { maxSide: number } }).options)
    .catch((err) => port.postMessage({ id: -1, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply));
}
