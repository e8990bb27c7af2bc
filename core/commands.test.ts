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
    const niced = await runner.run('cat', ['/proc/self/stat'], { nice: 15 });
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
