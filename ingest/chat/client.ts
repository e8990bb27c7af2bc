/** A chat client (tests, the demo, load generation): a real WebSocket with a message log and a way to wait for the next message of a type. */
import WebSocket from 'ws';
import type { ServerMessage } from './protocol.ts';

export interface ChatClient {
  ws: WebSocket;
  log: ServerMessage[];
  /** Sends a message object (or raw data). */
  post(text: string): void;
  /** Resolves with the first message of `type` after index `from` (default: the end of the log now). */
  next<T extends ServerMessage['type']>(type: T, timeoutMs?: number, from?: number): Promise<Extract<ServerMessage, { type: T }>>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/**
 * Connects to `/chat/:broadcastId` on `baseUrl` (http://…), with a session cookie when a token is given.
 * @throws Error `HTTP <status> <code>: <message>` when the upgrade is refused (e.g. `HTTP 403 age_unverified: …`).
 */
export async function connectChat(baseUrl: string, broadcastId: string, token?: string): Promise<ChatClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/chat/${broadcastId}`, { headers: token ? { cookie: `warden_session=${token}` } : {} });
  const log: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    log.push(JSON.parse(d.toString()) as ServerMessage);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        let error: { code?: string; message?: string } = {};
        try { error = (JSON.parse(body) as { error?: typeof error }).error ?? {}; } catch { /* not JSON */ }
        reject(new Error(`HTTP ${res.statusCode}${error.code ? ` ${error.code}: ${error.message}` : ''}`));
      });
    });
  });
  const client: ChatClient = {
    ws, log, closed,
    post: (text) => ws.send(JSON.stringify({ type: 'message', text })),
    next(type, timeoutMs = 5000, from = log.length) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${type}" within ${timeoutMs} ms; got ${JSON.stringify(log.slice(from))}`)), timeoutMs);
        const check = () => {
          const hit = log.slice(from).find((m) => m.type === type);
          if (hit) { clearTimeout(timer); resolve(hit as never); } else waiters.push(check);
        };
        check();
      });
    },
    close: () => ws.close(),
  };
  await client.next('hello', 5000, 0);
  return client;
}
