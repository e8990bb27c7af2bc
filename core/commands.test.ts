import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, SpawnHelper, type CommandRunner } from './commands.ts';

const helpers: SpawnHelper[] = [];
afterEach(async () => { for (const h of helpers.splice(0)) await h.stop(); });

/** The niceness of the process that printed /proc/self/stat (field 19). */
const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);

function runners(): [string, CommandRunner][] {
  const helper = new SpawnHelper();
  helpers.push(helper);
  return [['in this process', { run: runCommand }], ['from the helper', helper]];
}

describe('running commands', () => {
  it.each([0, 1])('collects stdout and the stderr tail, the exit code, the niceness asked for (%i)', async (i) => {
    const [, runner] = runners()[i]!;
    const ok = await runner.run('sh', ['-c', 'printf "a\\nb"; echo oops >&2']);
    expect(ok).toEqual({ code: 0, signal: null, stdout: 'a\nb', stderr: 'oops\n' });
    const failed = await runner.run('sh', ['-c', 'echo partial; exit 3']);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toBe('partial\n');
    // the niceness is set just after the command starts: what it runs 0.2 s later has it
    const niced = await runner.run('sh', ['-c', 'sleep 0.2; cat /proc/self/stat'], { nice: 15 });
    expect(niceOf(niced.stdout)).toBe(15);
    await expect(runner.run('warden-no-such-command', [])).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(runner.run('head', ['-c', '100000', '/dev/zero'], { maxStdoutBytes: 1000 })).rejects.toThrow(/more than 1000 bytes/);
  });

  it('the helper, not this process, is the commands\' parent; many run at once', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    const parents = await Promise.all(Array.from({ length: 12 }, (_, i) => helper.run('sh', ['-c', `sleep 0.2; echo $PPID ${i}`])));
    expect(parents.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, i) => `${helper.pid} ${i}`));
    expect(helper.pid).not.toBe(process.pid);
  });

  it('a helper killed mid-command rejects that command, and the next one starts a new helper', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    await helper.run('true', []);
    const first = helper.pid!;
    const running = helper.run('sleep', ['5']);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first, 'SIGKILL');
    await expect(running).rejects.toThrow(/spawn helper exited \(SIGKILL\)/);
    const again = await helper.run('sh', ['-c', 'echo $PPID']);
    expect(Number(again.stdout)).toBe(helper.pid);
    expect(helper.pid).not.toBe(first);
  });

  it('refuses commands once stopped', async () => {
    const helper = new SpawnHelper();
    await helper.run('true', []);
    await helper.stop();
    await expect(helper.run('true', [])).rejects.toThrow(/stopped/);
  });
});

describe('long-lived children from the helper', () => {
  const collect = (s: NodeJS.ReadableStream | null) => {
    let text = '';
    s?.setEncoding('utf8');
    s?.on('data', (d: string) => { text += d; });
    return () => text;
  };

  it('hands over the pipes: stdin written here, stdout, stderr and fd 3 read here, nothing lost, then exit and close', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    for (let i = 0; i < 10; i++) {
      const child = helper.spawn('sh', ['-c', 'echo early; echo err >&2; echo fd3 >&3; cat; echo late'], { pipes: [true, true, true, true], nice: 12 });
      const out = collect(child.stdout);
      const err = collect(child.stderr);
      const fd3 = collect(child.stdio[3]!);
      child.stdin!.end(`hello ${i}\n`);
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
      expect({ code, signal, out: out(), err: err(), fd3: fd3() }).toEqual({ code: 0, signal: null, out: `early\nhello ${i}\nlate\n`, err: 'err\n', fd3: 'fd3\n' });
      expect(child.pid).toBeGreaterThan(0);
    }
    // the niceness was applied to the child, whose parent is the helper
    const probe = helper.spawn('sh', ['-c', 'sleep 0.2; echo $PPID; cat /proc/self/stat'], { pipes: [false, true, false], nice: 12 });
    const out = collect(probe.stdout);
    await new Promise((r) => probe.once('close', r));
    const [ppid, stat] = out().split('\n');
    expect(Number(ppid)).toBe(helper.pid);
    expect(niceOf(stat!)).toBe(12);
  });

  it('a burst of 60 children at once (the broadcasts of a node that failed, reconnecting here) each get their own pipes', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    const children = Array.from({ length: 60 }, () => helper.spawn('cat', [], { pipes: [true, true, true] }));
    const outputs = children.map((c) => collect(c.stdout));
    children.forEach((c, i) => c.stdin!.end(`child ${i}\n`.repeat(1000)));
    await Promise.all(children.map((c) => new Promise((r) => c.once('close', r))));
    outputs.forEach((out, i) => expect(out()).toBe(`child ${i}\n`.repeat(1000)));
    expect(new Set(children.map((c) => c.pid)).size).toBe(60);
  });

  it('kill reaches the child; a missing command emits error ENOENT', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    const child = helper.spawn('sleep', ['30'], { pipes: [true, true, true] });
    await new Promise((r) => setTimeout(r, 300));
    expect(child.kill('SIGTERM')).toBe(true);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    expect(child.kill()).toBe(false);
    const missing = helper.spawn('warden-no-such-command', [], { pipes: [false, true, true] });
    await expect(new Promise((_, reject) => missing.once('error', reject))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('when the helper dies, its children are killed and reported as killed', async () => {
    const helper = new SpawnHelper();
    helpers.push(helper);
    const child = helper.spawn('sleep', ['30'], { pipes: [true, true, true] });
    for (let i = 0; i < 50 && !child.pid; i++) await new Promise((r) => setTimeout(r, 20));
    const pid = child.pid!;
    const closed = new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    process.kill(helper.pid!, 'SIGKILL');
    expect(await closed).toEqual([null, 'SIGKILL']);
    await new Promise((r) => setTimeout(r, 100));
    // gone, or dead and waiting for init to reap it (its parent, the helper, is gone)
    const state = (() => { try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3); } catch { return 'gone'; } })();
    expect(['gone', 'Z']).toContain(state);
  });
});
