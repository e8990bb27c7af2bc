/** Structured logging (pino). One root logger per process; subsystems take a child. */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process's root logger, writing JSON lines to stderr (stdout stays free for CLI output).
 * @param level pino level name, e.g. 'info'; 'silent' disables output.
 */
export function createLogger(level: string, name = 'warden'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
