/**
 * Entry point of the spawn helper (forked by SpawnHelper, core/commands.ts): runs each requested command with
 * runCommand and answers over IPC. It holds little memory, so its forks are cheap, and blocking its own event loop for
 * them costs nobody anything. Ends when its parent disconnects or dies.
 */
import { runCommand, type HelperReply, type HelperRequest } from './commands.ts';

const send = (m: HelperReply) => { if (process.connected) process.send!(m); };

process.on('message', (m: HelperRequest) => {
  runCommand(m.cmd, m.args, m.opts).then(
    (result) => send({ id: m.id, result }),
    (err: NodeJS.ErrnoException) => send({ id: m.id, error: { message: err.message, ...(err.code ? { code: err.code } : {}) } }),
  );
});
process.once('disconnect', () => process.exit(0));
