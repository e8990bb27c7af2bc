/**
 * Running short-lived commands (PocketSphinx passes, one per audio chunk and pass) to completion, either here or from
 * a small helper process, and starting long-lived ones (the taps' ffmpeg) from that helper with their pipes handed
 * back here (core/remote-child.ts).
 *
 * Why a helper: Node's spawn() is synchronous up to the child's exec (libuv forks, then waits on a pipe until the
 * child has exec'd or failed), and a fork copies the parent's page tables, so its cost grows with the parent's
 * resident memory. Measured here (2 cores, 2026-12-01): a process holding 260 MB blocks 15 ms per spawn() at p50
 * (25 ms at p90, 31 ms at most) with the CPUs busy, one of 47 MB about 5 ms. The serving process of `warden serve`
 * holds about 320 MB at 20 streams and transcription spawns PocketSphinx twice per chunk, so every chunk stalled the
 * event loop that delivers panic alerts and chat verdicts for 30–50 ms (a CPU profile at 20 streams showed the
 * spawns in its longest non-GC stalls), and each new broadcast's tap stalled it about 20 ms more, 20 broadcasts
 * starting together 0.4 s. {@link SpawnHelper} does those forks from a process of its own, which holds little memory
 * and has nothing else to do; the caller's event loop only sends and receives IPC messages.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { RemoteChild, type ChildLike, type RemoteChildEvent } from './remote-child.ts';

/** A command's outcome: exit code (null when killed), signal, its whole stdout and the tail of its stderr. */
export interface CommandResult { code: number | null; signal: string | null; stdout: string; stderr: string }

/**
 * What a command is run with: niceness 0–19 of the command's process (default 0; set just after it starts, so its
 * first milliseconds may run at the caller's), stdout cap in bytes.
 */
export interface CommandOptions { nice?: number; maxStdoutBytes?: number }

/** Runs commands to completion. `run` rejects when the command cannot be started (error `code` ENOENT: not installed). */
export interface CommandRunner {
  run(cmd: string, args: readonly string[], opts?: CommandOptions): Promise<CommandResult>;
}

/** How a long-lived child is started: a pipe for each `pipes` entry that is true (fd 0 up), at niceness `nice`. */
export interface ChildOptions { pipes: readonly boolean[]; nice?: number }

/**
 * Starts long-lived children with pipes (the taps' ffmpeg): {@link IN_PROCESS} here, a {@link SpawnHelper} from its
 * helper process. A child that cannot be started emits 'error' (`code` ENOENT: missing).
 */
export interface ChildSpawner {
  spawn(cmd: string, args: readonly string[], opts: ChildOptions): ChildLike;
}

/**
 * Spawns `cmd args` in this process (no shell) with a pipe for each true `pipes` entry and sets its niceness just
 * after it starts (its first milliseconds may run at this process's). Failing to set it leaves the priority as is.
 */
export function spawnChild(cmd: string, args: readonly string[], opts: ChildOptions): ChildProcess {
  const child = spawn(cmd, [...args], { stdio: opts.pipes.map((p) => (p ? 'pipe' : 'ignore')) });
  if (opts.nice && opts.nice > 0 && child.pid) { try { os.setPriority(child.pid, opts.nice); } catch { /* keeps the default priority */ } }
  return child;
}

/** Default cap on a command's stdout (bytes); more ends the command with an error. */
export const MAX_STDOUT_BYTES = 16 * 1024 * 1024;
/** How much of a command's stderr is kept (its last characters: where the error is). */
const STDERR_TAIL = 4000;

/**
 * Runs `cmd args` in this process (spawn, no shell; stdin ignored) and collects its output.
 * @throws Error from spawn (`code` ENOENT when the command is missing); Error when stdout passes the cap (killed).
 */
export function runCommand(cmd: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { pipes: [false, true, true], nice: opts.nice });
    const cap = opts.maxStdoutBytes ?? MAX_STDOUT_BYTES;
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failed: Error | undefined;
    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > cap) {
        failed ??= new Error(`${cmd} wrote more than ${cap} bytes to stdout`);
        child.kill('SIGKILL');
      } else out.push(b);
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-STDERR_TAIL); });
    child.once('error', (e) => { failed ??= e; });
    child.once('close', (code, signal) => {
      if (failed) reject(failed);
      else resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err });
    });
  });
}

/** Runs commands and starts children in this process (spawn() blocks it until each child has exec'd). */
export const IN_PROCESS: CommandRunner & ChildSpawner = { run: runCommand, spawn: spawnChild };

/**
 * Requests to the helper process and its answers (IPC, JSON): `run` a command to completion; `spawn` a long-lived
 * child whose pipes are sent back (one `fd` event each, the socket as the message's handle) with its `pid` and `exit`;
 * `kill` such a child.
 */
export type HelperRequest =
  | { type: 'run'; id: number; cmd: string; args: string[]; opts: CommandOptions }
  | { type: 'spawn'; id: number; cmd: string; args: string[]; pipes: boolean[]; nice: number }
  | { type: 'kill'; id: number; signal: NodeJS.Signals };
export type HelperReply =
  | { id: number; result: CommandResult }
  | { id: number; error: { message: string; code?: string } }
  | { id: number; child: RemoteChildEvent };

const entry = fileURLToPath(new URL('./commands-process.ts', import.meta.url));

/**
 * A {@link CommandRunner} whose commands are spawned by a helper process (core/commands-process.ts), started on first
 * use and again after it dies. A command running when the helper dies is rejected (a queue job then retries);
 * `stop` ends the helper and rejects what is still running.
 */
export class SpawnHelper implements CommandRunner, ChildSpawner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: CommandResult) => void; reject: (e: Error) => void }>();
  private readonly children = new Map<number, RemoteChild>();
  private stopped = false;

  /** The helper's process id while it runs (tests kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run(cmd: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    if (this.stopped) return Promise.reject(new Error('spawn helper stopped'));
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: HelperRequest = { type: 'run', id, cmd, args: [...args], opts };
      child.send(request, (err) => {
        if (err) this.settle(id, new Error(`spawn helper unreachable: ${err.message}`));
      });
    });
  }

  /**
   * Starts `cmd args` from the helper with a pipe for each `pipes` entry that is true (fd 0 up; stdin written here,
   * the others read here) at niceness `nice`, and returns its stand-in at once (core/remote-child.ts): the pid and the
   * pipes follow within milliseconds. When the helper cannot be reached or dies, the child is killed and reported as
   * killed ('exit'/'close' with SIGKILL); a command that cannot be started emits 'error' (`code` ENOENT: missing).
   */
  spawn(cmd: string, args: readonly string[], opts: ChildOptions): RemoteChild {
    const id = this.nextId++;
    const remote = new RemoteChild(opts.pipes, (signal) => {
      const helper = this.child;
      if (helper?.connected) helper.send({ type: 'kill', id, signal } satisfies HelperRequest, () => {});
      else if (remote.pid) { try { process.kill(remote.pid, signal); } catch { /* already gone */ } }
    });
    if (this.stopped) {
      setImmediate(() => remote.receive({ kind: 'error', message: 'spawn helper stopped' }));
      return remote;
    }
    const helper = this.child ?? this.start();
    this.children.set(id, remote);
    remote.once('exit', () => this.children.delete(id));
    remote.once('error', () => this.children.delete(id));
    const request: HelperRequest = { type: 'spawn', id, cmd, args: [...args], pipes: [...opts.pipes], nice: opts.nice ?? 0 };
    helper.send(request, (err) => {
      if (err) { this.children.delete(id); remote.receive({ kind: 'error', message: `spawn helper unreachable: ${err.message}` }); }
    });
    return remote;
  }

  /**
   * Ends the helper; commands still running are rejected (their processes end with their work) and children it
   * spawned that still run are killed (SIGKILL): stop the taps first.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.disconnect();
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(kill);
  }

  private start(): ChildProcess {
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    this.child = child;
    child.on('message', (m: HelperReply, handle?: Socket) => {
      if ('child' in m) {
        const remote = this.children.get(m.id);
        if (remote) remote.receive(m.child, handle);
        else handle?.destroy(); // a pipe of a child already given up on: not leaked
      }
      else if ('error' in m) this.settle(m.id, Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
      else this.settle(m.id, null, m.result);
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      for (const id of [...this.pending.keys()]) this.settle(id, new Error(`spawn helper exited (${signal ?? code}) while the command ran`));
      for (const remote of [...this.children.values()]) remote.orphaned();
      this.children.clear();
    });
    child.on('error', () => { /* 'exit' follows */ });
    return child;
  }

  private settle(id: number, err: Error | null, result?: CommandResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err); else p.resolve(result!);
  }
}
