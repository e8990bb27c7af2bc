/**
 * Where the CPU goes, read from /proc once a second (Linux): the whole machine (/proc/stat) and every process by
 * group, the group named by a classifier of its command line (ffmpeg taps, publishers, frame workers, PocketSphinx…).
 * Used by the load generator and the capacity bench to say what limited a run.
 *
 * Approximation: a process that exits between two readings loses its last (< 1 s) of CPU time; one first seen is
 * counted from its start. Short PocketSphinx runs are therefore slightly under-counted.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const HZ = 100;

/** Names a process's group from its pid and command line (arguments joined by spaces); null: not counted in a group. */
export type Classifier = (pid: number, cmdline: string) => string | null;

/** CPU over a window: cores busy on the machine (of `cores`), and per group (in cores, 1 = one core fully busy). */
export interface CpuWindow { seconds: number; cores: number; machineBusy: number; groups: Record<string, number> }

interface Proc { group: string | null; ticks: number }

function readTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return null;
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0); // idle + iowait
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0); // without guest time (counted in user)
  return { busy: total - idle, total };
}

/** Samples CPU by process group every `everyMs` (default 1000) until stopped; `window()` returns the figures since the last window. */
export class CpuSampler {
  private readonly procs = new Map<number, Proc>();
  private timer: NodeJS.Timeout | undefined;
  private acc: Record<string, number> = {};
  private machine0 = machineTicks();
  private windowStart = Date.now();

  constructor(private readonly classify: Classifier, private readonly everyMs = 1000) {}

  /** Starts sampling (the first reading sets the baseline). */
  start(): this {
    this.read(true);
    this.timer = setInterval(() => this.read(false), this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Figures since the previous window (or the start), then starts a new window. */
  window(): CpuWindow {
    this.read(false);
    const now = Date.now();
    const seconds = (now - this.windowStart) / 1000;
    const m = machineTicks();
    const totalTicks = m.total - this.machine0.total;
    const cores = os.cpus().length;
    const out: CpuWindow = {
      seconds: Math.round(seconds * 10) / 10, cores,
      machineBusy: totalTicks > 0 ? Math.round(((m.busy - this.machine0.busy) / totalTicks) * cores * 100) / 100 : 0,
      groups: Object.fromEntries(Object.entries(this.acc).map(([g, t]) => [g, Math.round((t / HZ / Math.max(seconds, 0.001)) * 100) / 100])),
    };
    this.acc = {};
    this.machine0 = m;
    this.windowStart = now;
    return out;
  }

  private read(baseline: boolean): void {
    const seen = new Set<number>();
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const ticks = readTicks(pid);
      if (ticks === null) continue;
      seen.add(pid);
      let p = this.procs.get(pid);
      if (!p) {
        // a process first seen: classified once; counted from its start unless this is the baseline reading
        p = { group: this.classify(pid, readCmdline(pid)), ticks: baseline ? ticks : 0 };
        this.procs.set(pid, p);
      }
      if (p.group && ticks > p.ticks) this.acc[p.group] = (this.acc[p.group] ?? 0) + (ticks - p.ticks);
      p.ticks = ticks;
    }
    for (const pid of this.procs.keys()) if (!seen.has(pid)) this.procs.delete(pid);
  }
}

/**
 * The usual classifier for a Warden machine: `warden` (the pid given: the process running api + ingest, or any
 * `warden serve|ingest|worker` process, and their spawn helper), `publishers` (ffmpeg sending FLV: the stand-in encoders), `taps` (ffmpeg
 * writing image2pipe), `frameWorkers` (analyzer/frame-process.ts), `transcription` (pocketsphinx), `clients` (the
 * measuring clients' processes: chat viewers, panic presses), `loadgen` (the pid given as the load generator's),
 * `other` (everything else on the machine: other users' work).
 */
export function wardenClassifier(pids: { warden?: number; loadgen?: number } = {}): Classifier {
  return (pid, cmd) => {
    if (pid === pids.warden || /bin\/warden(\.ts)? (serve|ingest|worker)\b/.test(cmd) || /core\/commands-process\.ts/.test(cmd)) return 'warden';
    if (pid === pids.loadgen) return 'loadgen';
    // taps first: fed in-process they read FLV from stdin (`-f flv -i pipe:0`), publishers write it
    if (/ffmpeg/.test(cmd) && /image2pipe/.test(cmd)) return 'taps';
    if (/ffmpeg/.test(cmd) && / -f flv /.test(cmd)) return 'publishers';
    if (/frame-process\.ts/.test(cmd)) return 'frameWorkers';
    if (/pocketsphinx/.test(cmd)) return 'transcription';
    if (/loadgen-chat\.ts|gates-panic-clients\.ts/.test(cmd)) return 'clients';
    return 'other';
  };
}
