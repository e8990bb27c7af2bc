/**
 * Entry point of the spawn helper (forked by SpawnHelper, core/commands.ts): runs each requested command with
 * runCommand and answers over IPC, and starts long-lived children whose pipes it hands to its parent (each pipe is a
 * Unix socket, sent as the message's handle and closed here). It holds little memory, so its forks are cheap, and
 * blocking its own event loop for them costs nobody anything. Ends when its parent disconnects or dies.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { runCommand, spawnChild, type HelperReply, type HelperRequest } from './commands.ts';

const send = (m: HelperReply, handle?: Socket) => { if (process.connected) process.send!(m, handle as never); };
const children = new Map<number, ChildProcess>();

process.on('message', (m: HelperRequest) => {
  if (m.type === 'run') {
    runCommand(m.cmd, m.args, m.opts).then(
      (result) => send({ id: m.id, result }),
      (err: NodeJS.ErrnoException) => send({ id: m.id, error: { message: err.message, ...(err.code ? { code: err.code } : {}) } }),
    );
  } else if (m.type === 'spawn') {
    const child = spawnChild(m.cmd, m.args, { pipes: m.pipes, nice: m.nice });
    child.once('error', (err: NodeJS.ErrnoException) => {
      children.delete(m.id);
      send({ id: m.id, child: { kind: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) } });
    });
    if (!child.pid) return; // 'error' follows
    // Node starts reading a child's output pipes as it creates their sockets, and what this process read before
    // handing a pipe over would be lost: stop reading now, in the same tick (libuv delivers reads only in its poll phase)
    for (const s of child.stdio.slice(1)) (s as unknown as { _handle?: { readStop?: () => void; reading?: boolean } } | null)?._handle?.readStop?.();
    children.set(m.id, child);
    send({ id: m.id, child: { kind: 'pid', pid: child.pid } });
    m.pipes.forEach((p, fd) => { if (p) send({ id: m.id, child: { kind: 'fd', fd } }, child.stdio[fd] as Socket); });
    child.once('exit', (code, signal) => {
      children.delete(m.id);
      send({ id: m.id, child: { kind: 'exit', code, signal } });
    });
  } else if (m.type === 'kill') {
    children.get(m.id)?.kill(m.signal);
  }
});
// the parent is gone: the children it was feeding get end-of-file on their pipes (which it held) and end by themselves
process.once('disconnect', () => process.exit(0));
