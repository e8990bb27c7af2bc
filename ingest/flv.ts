/**
 * HTTP-FLV plays for browsers (which cannot play RTMP): `GET /flv/watch/<broadcast id>.flv?token=<play token>` on
 * the HTTP server of the ingest node holding the broadcast, played in the watch page with mpegts.js over Media
 * Source Extensions.
 *
 * The request goes through the play gate exactly like an RTMP play (ingest/play-gate.ts): the one-time token
 * from `POST /api/broadcasts/:id/play` is taken out of Redis (a URL plays once, whatever the answer), must be for
 * this broadcast, which must be live on this node, and a viewer who is not exempt must not be banned nor the
 * stream hidden. Only then is node-media-server's FlvSession created, signed and joined to the stream, and the
 * play is remembered by {@link ViewerSessions}, so a ban, a hidden stream or the broadcast's end disconnects it
 * on every node (its socket is destroyed). The stream-key path (`/live/<key>`) is never reachable here: only
 * `/flv/watch/<uuid>.flv` is served.
 *
 * Refusals are JSON `{ error: { code, message } }`: 401 `no_token`; 403 `unknown_token` (wrong, used or expired),
 * `other_stream`, `banned`, `hidden`; 404 `not_live` or `not_found`; 405 for another method; 503 `unavailable`.
 * Every answer allows any origin (`access-control-allow-origin: *`, no credentials): the token is the whole
 * credential, and the page may be served by another node than the one holding the broadcast.
 *
 * node-media-server's own HTTP server stays off; this handler runs in Warden's HTTP server, before hono, for the
 * `/flv/` prefix only ({@link mountBeforeApp}).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.ts';
import type { MediaServer } from './media-server.ts';
import { PLAY_APP, playPath, type PlayRefusal, type ViewerSessions } from './play-gate.ts';

/** The path prefix this handler owns on the HTTP server. */
export const FLV_PREFIX = '/flv/';
const FLV_PATH = new RegExp(`^/flv/${PLAY_APP}/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\.flv$`);
/** A viewer whose unsent output grows past this many bytes is too slow to follow live: the play is dropped. */
export const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

const REFUSALS: Record<PlayRefusal, { status: number; message: string }> = {
  no_token: { status: 401, message: 'a play token is required (POST /api/broadcasts/:id/play)' },
  unknown_token: { status: 403, message: 'the play token is unknown, used or expired; ask for a new play URL' },
  other_stream: { status: 403, message: 'the play token is for another broadcast' },
  not_live: { status: 404, message: 'the broadcast is not live on this node' },
  banned: { status: 403, message: 'you cannot watch this stream' },
  hidden: { status: 403, message: 'the stream is hidden for now' },
  unavailable: { status: 503, message: 'the play gate is unavailable; try again' },
};

const CORS = { 'access-control-allow-origin': '*', 'timing-allow-origin': '*' };

export interface FlvPlaysDeps {
  server: MediaServer;
  viewers: ViewerSessions;
  /** The broadcast's owner when it is live on this node, else undefined. */
  live(broadcastId: string): { ownerId: string } | undefined;
  logger: Logger;
}

/** Serves HTTP-FLV plays behind the play gate. */
export class FlvPlays {
  private readonly log: Logger;
  constructor(private readonly deps: FlvPlaysDeps) {
    this.log = deps.logger.child({ subsystem: 'flv' });
  }

  /**
   * Takes a request under {@link FLV_PREFIX} and answers it (asynchronously); leaves any other request alone.
   * @returns whether the request was taken.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(FLV_PREFIX)) return false;
    void this.serve(req, res, url).catch((err: unknown) => {
      this.log.error({ err: String(err) }, 'HTTP-FLV play failed');
      if (!res.headersSent) reply(res, 503, 'unavailable', REFUSALS.unavailable.message);
      else res.destroy();
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'range', 'access-control-max-age': '600' });
      return void res.end();
    }
    const m = FLV_PATH.exec(url.pathname);
    if (!m) return reply(res, 404, 'not_found', 'no such play path (/flv/watch/<broadcast id>.flv)');
    if (req.method !== 'GET') return reply(res, 405, 'method_not_allowed', 'GET only', { allow: 'GET, OPTIONS' });
    const broadcastId = m[1]!;
    const { viewers, server } = this.deps;
    const requestId = randomUUID();
    const verdict = await viewers.decide(url.searchParams.get('token') ?? undefined, broadcastId, this.deps.live(broadcastId), requestId);
    if (typeof verdict === 'string') return reply(res, REFUSALS[verdict].status, verdict, REFUSALS[verdict].message);
    if (req.socket.destroyed) return; // the viewer left while the gate decided (the token is used up all the same)
    // from here on synchronous: the broadcast cannot end between the check and the join
    const session = this.deps.live(broadcastId) ? server.flvSession(req, res, playPath(broadcastId)) : null;
    if (!session) return reply(res, 404, 'not_live', REFUSALS.not_live.message);
    viewers.attach(session, verdict);
    res.writeHead(200, { ...CORS, 'content-type': 'video/x-flv', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    const send = session.sendBuffer;
    session.sendBuffer = (buffer: Buffer) => {
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        this.log.warn({ sessionId: session.id, broadcastId, backlog: res.writableLength }, 'HTTP-FLV viewer too slow: play dropped');
        server.disconnect(session);
        return;
      }
      send(buffer);
    };
    session.run();
  }
}

/** A JSON error answer in the API's shape, with the CORS headers (a player on another origin can read it). */
function reply(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...CORS, ...headers, 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * Puts `handler` in front of an HTTP server's request listeners (the API's hono listener): a request it takes is
 * not seen by them; any other goes on to them unchanged.
 */
export function mountBeforeApp(server: Server, handler: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const app = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (handler(req, res)) return;
    for (const l of app) l.call(server, req, res);
  });
}
