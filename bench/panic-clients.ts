/**
 * The bench's side of bench/gates-panic-clients.ts: forks that process (moderators' alert streams and performers'
 * panic presses, away from the server's event loop) and drives it over IPC. Used by the panic bench
 * (bench/gates-panic.ts) and the capacity bench (bench/capacity.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientCommand, ClientReply, RoundSamples } from './gates-panic-clients.ts';

export class PanicClients {
  private readonly child: ChildProcess;
  private constructor() {
    this.child = fork(fileURLToPath(new URL('./gates-panic-clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  private ask(cmd: ClientCommand): Promise<ClientReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the panic clients' process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: ClientReply) => {
        this.child.off('exit', onExit);
        if (m.type === 'error') reject(new Error(m.message)); else resolve(m);
      });
      this.child.send(cmd);
    });
  }

  /** Starts the process and opens one alert stream per moderator token. @throws Error when a stream does not open. */
  static async open(httpUrl: string, moderatorTokens: string[]): Promise<PanicClients> {
    const c = new PanicClients();
    await c.ask({ type: 'open', httpUrl, moderatorTokens });
    return c;
  }

  /**
   * `count` presses, one every `spacingMs`, by the pressing performers in turn; resolves the raw latencies (ms).
   * @throws Error when a press is refused or the process died.
   */
  async round(pressingTokens: string[], count: number, spacingMs: number, tag: string): Promise<RoundSamples> {
    const r = await this.ask({ type: 'round', pressingTokens, count, spacingMs, tag });
    if (r.type !== 'round') throw new Error('unexpected reply from the panic clients');
    return r.samples;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Closes the streams and ends the process (killed after 5 s). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'close' } satisfies ClientCommand);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
