/**
 * A long-lived child process started by the spawn helper (core/commands.ts) whose pipes belong to this process:
 * the helper spawns it, then passes each of its stdio pipes here over the IPC channel (they are Unix sockets, which
 * Node sends as handles), and reports its pid and its exit. {@link RemoteChild} offers what the taps use of a
 * ChildProcess — `pid`, `stdin`, `stdout`, `stderr`, `stdio[n]`, `exitCode`, `signalCode`, `kill`, and the
 * 'error', 'exit' and 'close' events — at once, before the pipes arrive: each stdio stream here is a stand-in
 * (PassThrough) joined to the real pipe when it comes.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';

/**
 * The stand-in for a child's stdin: holds what is written until the real pipe arrives, then hands each batch the
 * writer corked (cork … uncork) to the pipe as one batch (one writev), and asks for the next only once the pipe has
 * taken it, so `writableLength` here is the backlog the writer sees, as on a ChildProcess's stdin.
 */
class StdinStandIn extends Writable {
  private target: Socket | null = null;
  private held: { chunks: Buffer[]; cb: (err?: Error | null) => void } | null = null;

  /** The real pipe: what was held goes now. */
  attach(pipe: Socket): void {
    this.target = pipe;
    const held = this.held;
    this.held = null;
    if (held) this.forward(held.chunks, held.cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    if (this.target) this.forward(bufs, cb);
    else this.held = { chunks: bufs, cb };
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.target) this.target.end(cb); else cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.target?.destroy();
    this.held = null;
    cb(err);
  }

  private forward(bufs: Buffer[], cb: (err?: Error | null) => void): void {
    const pipe = this.target!;
    if (pipe.destroyed) { cb(new Error('the child\'s stdin is closed')); return; }
    pipe.cork();
    for (let i = 0; i < bufs.length - 1; i++) pipe.write(bufs[i]!);
    pipe.write(bufs[bufs.length - 1]!, (err) => cb(err ?? null));
    pipe.uncork();
  }
}

/**
 * What long-lived children's users need of one: a ChildProcess, or a {@link RemoteChild}. Events: 'error' (err),
 * 'exit' and 'close' (code, signal).
 */
export interface ChildLike extends EventEmitter {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly (Readable | Writable | null | undefined)[];
  kill(signal?: NodeJS.Signals): boolean;
}

/** Messages about one remote child, from the helper. */
export type RemoteChildEvent =
  | { kind: 'pid'; pid: number }
  | { kind: 'fd'; fd: number }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'error'; message: string; code?: string };

/**
 * The stand-in for a child process the helper started. `stdio[0]` is null unless stdin was asked for; every other
 * stdio entry up to the count asked for is a readable stream. 'close' is emitted once the child has exited and every
 * pipe it wrote to has closed (so all of its output was read first), as ChildProcess does.
 */
export class RemoteChild extends EventEmitter implements ChildLike {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdio: [StdinStandIn | null, ...(PassThrough | null)[]];
  private readonly openPipes = new Set<Socket>();
  private exited = false;
  private closed = false;

  /**
   * @param pipes stdio entries (fd 0 up): true for a pipe, false for none.
   * @param signal sends a signal to the child (through the helper, or directly once the helper is gone).
   */
  constructor(pipes: readonly boolean[], private readonly signal: (sig: NodeJS.Signals) => void) {
    super();
    this.stdio = [pipes[0] ? new StdinStandIn() : null, ...pipes.slice(1).map((p) => (p ? new PassThrough() : null))];
    // a write after the child is gone must not throw in the caller (a ChildProcess's stdin errors with EPIPE; this
    // one is ended in onExit)
    this.stdio[0]?.on('error', () => {});
  }

  get stdin(): Writable | null { return this.stdio[0] ?? null; }
  get stdout(): PassThrough | null { return this.stdio[1] ?? null; }
  get stderr(): PassThrough | null { return this.stdio[2] ?? null; }

  /** Sends `sig` (default SIGTERM). @returns false once the child has exited. */
  kill(sig: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    this.signal(sig);
    return true;
  }

  /** Handles one message from the helper (`pipe`: the socket that came with an `fd` message). */
  receive(e: RemoteChildEvent, pipe?: Socket): void {
    if (e.kind === 'pid') this.pid = e.pid;
    else if (e.kind === 'fd') this.attach(e.fd, pipe);
    else if (e.kind === 'error') {
      this.exited = true;
      this.emit('error', Object.assign(new Error(e.message), e.code ? { code: e.code } : {}));
    } else this.onExit(e.code, e.signal);
  }

  /** The helper is gone: the child is killed (it would otherwise run on unobserved) and reported as killed. */
  orphaned(): void {
    if (this.exited) return;
    if (this.pid) { try { process.kill(this.pid, 'SIGKILL'); } catch { /* already gone */ } }
    this.onExit(null, 'SIGKILL');
  }

  private attach(fd: number, pipe: Socket | undefined): void {
    const standIn = this.stdio[fd];
    if (!pipe || !standIn) { pipe?.destroy(); return; }
    pipe.on('error', () => {}); // EPIPE/ECONNRESET when the child dies: its exit ends the run
    if (standIn instanceof StdinStandIn) {
      if (this.exited || standIn.destroyed) pipe.destroy(); else standIn.attach(pipe);
      return;
    }
    this.openPipes.add(pipe);
    pipe.once('close', () => {
      this.openPipes.delete(pipe);
      this.maybeClose();
    });
    pipe.pipe(standIn);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitCode !== null || this.signalCode !== null) return; // reported already
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    this.stdin?.end();
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.closed || !this.exited || this.openPipes.size > 0) return;
    this.closed = true;
    // after what the pipes delivered has reached the stand-ins' readers
    setImmediate(() => {
      for (const s of this.stdio.slice(1) as (PassThrough | null)[]) if (s && !s.writableEnded) s.end();
      this.emit('close', this.exitCode, this.signalCode);
    });
  }
}
