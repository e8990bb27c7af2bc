/**
 * The chat gateway: WebSocket rooms at `/chat/:broadcastId`. Every message is checked before any viewer
 * sees it — frame and length, restrictions, slow mode, duplicates and rate limits (Redis, shared by all
 * nodes), then the text analyzer and the policy (plus the performer's own terms) — and only then fanned out
 * to the room on every node through Redis pub/sub.
 *
 * Joining a room (reading or posting) needs a signed-in account that attested an adult date of birth (the viewer
 * age gate, POST /api/me/birth-date); the room's performer and staff are exempt. Anyone else's upgrade is refused
 * with an HTTP status and a JSON error whose code is a {@link RefusalCode}: 401 `unauthenticated`, 403
 * `age_unverified`.
 *
 * A trusted-only room (the performer's setting) lets everyone read but only the performer's trusted users post;
 * the performer and staff always post. Others are refused with `trusted_only`.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../core/logger.ts';
import { errorText } from '../../core/errors.ts';
import { hashToken } from '../../core/tokens.ts';
import { activeChatRestrictions, roomConfig, roomOfBroadcast, sessionUser, userMessagesSince, viewerStanding, type Db, type Role } from '../../db/index.ts';
import type { ChatModeration, EnforcementMessage, Protection } from '../../moderation/index.ts';
import { enforcementChannel, savedPanicProtection } from '../../moderation/index.ts';
import { decideMessage, followUpFor, type Policy } from '../../rules/index.ts';
import type { TextAnalyzer } from '../../analyzer/text/index.ts';
import { ChatLimits } from './limits.ts';
import { parseClientMessage, type RefusalCode, type ServerMessage } from './protocol.ts';

/** U+0000, or a surrogate without its pair. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Largest WebSocket frame accepted; larger ones close the connection (1009). */
export const MAX_FRAME_BYTES = 16 * 1024;
/** Roles that may join any room without an attested date of birth (they moderate it). */
const STAFF: readonly Role[] = ['moderator', 'senior_moderator', 'admin'];
const SUPPORT_MESSAGE = 'If you are thinking about harming yourself, you are not alone. In the US call or text 988; elsewhere see findahelpline.com. A moderator has been told and may reach out.';

interface Client {
  ws: WebSocket;
  broadcastId: string;
  ownerId: string;
  user: { userId: string; handle: string };
  /** Staff (moderators and up): they post in every room, trusted-only or not. */
  staff: boolean;
}

interface RoomCache {
  at: number;
  slowModeS: number;
  terms: { term: string; action: 'flag' | 'hold' | 'block'; re: RegExp }[];
  /** Only the performer's trusted users (and the performer and staff) may post. */
  trustedOnly: boolean;
  /** Ids of the room's trusted users (loaded while the room is trusted-only). */
  trusted: Set<string>;
}

export interface ChatGatewayDeps {
  db: Db;
  /** Commands and PUBLISH. */
  redis: Redis;
  /** A dedicated connection for SUBSCRIBE. */
  subscriber: Redis;
  prefix: string;
  policy: () => Policy;
  analyzer: TextAnalyzer;
  moderation: ChatModeration;
  logger: Logger;
  /** The performer pressed panic on their broadcast's socket (raises the alert; see moderation/alerts.ts). */
  onPanic?: (p: { userId: string; handle: string; broadcastId: string; protection: Protection; message: string | null }) => Promise<{ alertId: string; stored: boolean }>;
}

export class ChatGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly rooms = new Map<string, Set<Client>>();
  private readonly roomCache = new Map<string, RoomCache>();
  private readonly refreshing = new Set<string>();
  private readonly limits: ChatLimits;
  private readonly log: Logger;
  private readonly roomChannel = (broadcastId: string) => `${this.deps.prefix}:chat:${broadcastId}`;

  constructor(private readonly deps: ChatGatewayDeps) {
    this.log = deps.logger.child({ subsystem: 'chat' });
    this.limits = new ChatLimits({ redis: deps.redis, prefix: deps.prefix, logger: deps.logger });
  }

  /** Subscribes to enforcement messages (restrictions reach connected users at once). */
  async start(): Promise<void> {
    // compile the analyzer's matchers now rather than on the first viewer's message
    this.deps.analyzer.analyze('warm up: add me on snap, call 555 123 4567, see example.com');
    await this.limits.start();
    this.deps.subscriber.on('message', (channel, message) => this.onRedisMessage(channel, message));
    await this.deps.subscriber.subscribe(enforcementChannel(this.deps.prefix));
  }

  /** Closes every connection (1001 going away). */
  async stop(): Promise<void> {
    for (const room of this.rooms.values()) for (const c of room) c.ws.close(1001, 'server shutting down');
    this.rooms.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.limits.stop();
  }

  /** The node's message gate (its local copies and counts), for metrics and benchmarks. */
  get gate(): ChatLimits {
    return this.limits;
  }

  /** Connected clients on this node (metrics, tests). */
  get connections(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.size;
    return n;
  }

  /**
   * Handles an HTTP upgrade for `/chat/:broadcastId`: 404 `not_found` for no such broadcast, 401
   * `unauthenticated` without a live session, 403 `age_unverified` for an account that has not attested an adult
   * date of birth (unless it is the room's performer or staff), 503 `unavailable` when Postgres cannot answer.
   * @returns false when the path is not under `/chat` (the caller handles or refuses it).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/chat' && !url.pathname.startsWith('/chat/')) return false;
    const broadcastId = /^\/chat\/([^/]+)$/.exec(url.pathname)?.[1] ?? '';
    const refuse = (status: number, code: RefusalCode | 'not_found', message: string) => {
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error: { code, message } })}`);
    };
    // anything under /chat that is not /chat/<uuid> is answered here too, in the same JSON shape
    if (!UUID.test(broadcastId)) { refuse(404, 'not_found', 'no such broadcast'); return true; }
    void (async () => {
      try {
        const room = await roomOfBroadcast(this.deps.db, broadcastId);
        if (!room) return refuse(404, 'not_found', 'no such broadcast');
        const token = sessionToken(req, url);
        if (!token) return refuse(401, 'unauthenticated', 'sign in to join the chat');
        const user = await sessionUser(this.deps.db, hashToken(token));
        if (!user) return refuse(401, 'unauthenticated', 'session expired or unknown');
        if (!STAFF.includes(user.role) && user.userId !== room.ownerId && !(await viewerStanding(this.deps.db, user.userId))?.adult) {
          return refuse(403, 'age_unverified', 'confirm you are an adult first (POST /api/me/birth-date) to join the chat');
        }
        const staff = STAFF.includes(user.role);
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          // joining needs Redis (the room's subscription) and Postgres (restrictions): either away, the socket closes
          this.onConnection(ws, { broadcastId, ownerId: room.ownerId, live: room.live, staff, user: { userId: user.userId, handle: user.handle } }).catch((err) => {
            this.log.warn({ err: errorText(err), broadcastId }, 'chat join failed');
            ws.close(1011, 'chat unavailable');
          });
        });
      } catch (err) {
        this.log.error({ err: errorText(err) }, 'chat upgrade failed');
        refuse(503, 'unavailable', 'chat unavailable');
      }
    })();
    return true;
  }

  private async onConnection(ws: WebSocket, c: { broadcastId: string; ownerId: string; live: boolean; staff: boolean; user: Client['user'] }): Promise<void> {
    const client: Client = { ws, broadcastId: c.broadcastId, ownerId: c.ownerId, user: c.user, staff: c.staff };
    // listeners first: a frame that arrives while the room subscribes is still handled
    ws.on('close', () => this.leave(client));
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => void this.onFrame(client, data.toString('utf8'), isBinary, c.live));
    let room = this.rooms.get(c.broadcastId);
    if (!room) {
      room = new Set();
      this.rooms.set(c.broadcastId, room);
      room.add(client);
      await this.deps.subscriber.subscribe(this.roomChannel(c.broadcastId));
    } else room.add(client);
    const chat = this.deps.policy().chat;
    const cfg = await this.room(c.ownerId).catch(() => null);
    send(ws, { type: 'hello', room: c.broadcastId, user: c.user.handle, canPost: c.live && (!cfg || this.mayPost(client, cfg)), maxLength: chat.maxLength });
    await this.warmRestrictions(c.user.userId, c.ownerId);
    // the gate's copy of the user's restrictions: their first message then needs no Redis round trip either
    await this.limits.warm(c.user.userId, c.ownerId);
  }

  private leave(client: Client): void {
    const room = this.rooms.get(client.broadcastId);
    if (!room) return;
    room.delete(client);
    if (room.size === 0) {
      this.rooms.delete(client.broadcastId);
      void this.deps.subscriber.unsubscribe(this.roomChannel(client.broadcastId)).catch(() => {});
    }
  }

  /** Copies a user's active restrictions from Postgres into the Redis mirror (after a Redis restart, say). */
  private async warmRestrictions(userId: string, ownerId: string): Promise<void> {
    for (const r of await activeChatRestrictions(this.deps.db, userId, ownerId)) {
      await this.deps.moderation.mirror(userId, r.scope, { kind: r.kind, until: r.expiresAt?.toISOString() ?? null, reason: r.reason });
    }
  }

  private async onFrame(client: Client, data: string, isBinary: boolean, live: boolean): Promise<void> {
    const refuse = (code: Extract<ServerMessage, { type: 'refused' }>['code'], message: string, extra: { retryAfterMs?: number; until?: string | null } = {}) =>
      send(client.ws, { type: 'refused', code, message, ...extra });
    const chat = this.deps.policy().chat;
    const msg = isBinary ? null : parseClientMessage(data);
    if (!msg) return refuse('invalid_frame', 'expected a JSON text frame {"type":"message","text":"..."}');
    if (msg.type === 'panic') {
      // the performer's panic button: before everything else, never rate-limited, whether the room is live or not
      if (client.user.userId !== client.ownerId || !this.deps.onPanic) return refuse('forbidden', 'only the performer of this broadcast can raise a panic alert here');
      try {
        // a press naming no protection gets the room's saved one, from its Redis mirror (never Postgres)
        const protection = msg.protection ?? (await savedPanicProtection(this.deps.redis, this.deps.prefix, client.ownerId)) ?? 'none';
        const r = await this.deps.onPanic({ ...client.user, broadcastId: client.broadcastId, protection, message: msg.message });
        return send(client.ws, { type: 'panic_received', alertId: r.alertId, stored: r.stored });
      } catch (err) {
        this.log.error({ err: errorText(err) }, 'panic alert from chat failed');
        return refuse('unavailable', 'the alert could not be sent; use POST /api/alerts/panic');
      }
    }
    if (!live) return refuse('room_closed', 'this broadcast has ended');
    const text = msg.text.trim();
    if (!text) return refuse('empty', 'the message is empty');
    // text Postgres cannot store (U+0000, an unpaired surrogate) is refused here, before analysis, not by a failed insert
    if (UNSTORABLE.test(text)) return refuse('invalid_frame', 'the message contains a NUL character or an unpaired surrogate (not valid text)');
    if ([...text].length > chat.maxLength) return refuse('too_long', `messages are at most ${chat.maxLength} characters`);
    try {
      const cfg = await this.room(client.ownerId);
      if (!this.mayPost(client, cfg)) return refuse('trusted_only', 'only the performer\'s trusted users can post in this room right now; you can still read');
      const analysis = this.deps.analyzer.analyze(text);
      const gate = await this.limits.check(client.user.userId, client.ownerId, analysis.normalized, chat, cfg.slowModeS);
      if (!gate.ok) {
        if (gate.code === 'restricted') return refuse('restricted', `you cannot post: ${gate.restriction.kind} (${gate.restriction.reason})${gate.restriction.until ? ` until ${gate.restriction.until}` : ''}`, { until: gate.restriction.until });
        const what = { slow_mode: 'slow mode is on in this room', duplicate: 'you just sent that', rate_limited: 'you are sending messages too fast' }[gate.code];
        return refuse(gate.code, `${what}; try again in ${Math.ceil(gate.retryAfterMs / 1000)} s`, { retryAfterMs: gate.retryAfterMs });
      }
      const roomHits = cfg.terms.filter((t) => t.re.test(analysis.normalized)).map((t) => ({ term: t.term, action: t.action }));
      const policy = this.deps.policy();
      const { verdict, reasons } = decideMessage(chat, analysis.matches, roomHits);
      const stored = await this.deps.moderation.record({
        broadcastId: client.broadcastId, ownerId: client.ownerId, userId: client.user.userId, body: text, verdict,
        categories: analysis.categories, matches: analysis.matches, reasons, policyVersion: policy.version,
      });
      if (verdict === 'allow' || verdict === 'flag') {
        const out: ServerMessage = { type: 'message', id: stored.id, user: client.user.handle, text, at: stored.createdAt.toISOString() };
        await this.deps.redis.publish(this.roomChannel(client.broadcastId), JSON.stringify(out));
        send(client.ws, { type: 'ack', id: stored.id, verdict });
      } else if (verdict === 'hold') {
        send(client.ws, { type: 'held', id: stored.id, message: 'your message is held for review' });
      } else {
        const rules = reasons.filter((r) => r.verdict === 'block').map((r) => (r.source === 'room' ? `room term "${r.term}"` : `platform rule: ${r.category}`));
        send(client.ws, { type: 'blocked', id: stored.id, message: `not sent: ${rules.join(', ')}`, categories: analysis.categories, rules });
      }
      if (analysis.categories.includes('self_harm')) send(client.ws, { type: 'support', message: SUPPORT_MESSAGE });
      // the verdict is given: a follow-up that cannot be decided now (Postgres away) is logged, never a refusal
      if (verdict === 'block' || verdict === 'hold') {
        await this.followUp(client.user.userId).catch((err) => this.log.warn({ err: errorText(err), userId: client.user.userId }, 'chat follow-up not decided'));
      }
    } catch (err) {
      this.log.error({ err: errorText(err), broadcastId: client.broadcastId }, 'chat message failed');
      refuse('unavailable', 'chat is unavailable right now; your message was not sent');
    }
  }

  /** Whether a client may post in a room as it is set: anyone, unless it is trusted-only (then the trusted, the performer and staff). */
  private mayPost(client: Client, cfg: RoomCache): boolean {
    return !cfg.trustedOnly || client.staff || client.user.userId === client.ownerId || cfg.trusted.has(client.user.userId);
  }

  /** Applies the policy's follow-ups (timeouts, bans) after a block or hold. */
  private async followUp(userId: string): Promise<void> {
    const chat = this.deps.policy().chat;
    if (!chat.followUps.length) return;
    const window = Math.max(...chat.followUps.map((f) => f.withinMs));
    const history = await userMessagesSince(this.deps.db, userId, new Date(Date.now() - window));
    const f = followUpFor(chat, history, Date.now());
    if (!f) return;
    await this.deps.moderation.restrict({
      userId, kind: f.action.type, scope: 'platform', durationMs: f.action.durationMs, reason: `chat follow-up ${f.id}: ${f.count} in ${Math.round(f.withinMs / 1000)} s`,
      actor: `rule:${f.id}`, ruleId: f.id,
    });
  }

  /**
   * A room's settings and terms: from the cache, refreshed in the background once 5 s old (no message waits
   * on the database for them); changes made through the API reach every node at once (room_changed).
   */
  private async room(ownerId: string): Promise<RoomCache> {
    const hit = this.roomCache.get(ownerId);
    if (hit) {
      if (Date.now() - hit.at >= 5000 && !this.refreshing.has(ownerId)) {
        this.refreshing.add(ownerId);
        void this.loadRoom(ownerId).catch((err) => this.log.warn({ err: errorText(err) }, 'room refresh failed')).finally(() => this.refreshing.delete(ownerId));
      }
      return hit;
    }
    return this.loadRoom(ownerId);
  }

  private async loadRoom(ownerId: string): Promise<RoomCache> {
    const cfg = await roomConfig(this.deps.db, ownerId);
    const entry: RoomCache = {
      at: Date.now(), slowModeS: cfg.slowModeS, trustedOnly: cfg.trustedOnly, trusted: new Set(cfg.trusted),
      terms: cfg.terms.map((t) => ({ ...t, re: new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRe(t.term.toLowerCase())}($|[^\\p{L}\\p{N}])`, 'iu') })),
    };
    this.roomCache.set(ownerId, entry);
    return entry;
  }

  /** Drops a room's cached settings and terms (a performer changed them; every node is told over Redis). */
  invalidateRoom(ownerId: string): void {
    this.roomCache.delete(ownerId);
  }

  private onRedisMessage(channel: string, message: string): void {
    if (channel === enforcementChannel(this.deps.prefix)) {
      let m: EnforcementMessage;
      try { m = JSON.parse(message) as EnforcementMessage; } catch { return; }
      if (m.type === 'room_changed') return this.invalidateRoom(m.ownerId);
      if (m.type !== 'restrict_user') return;
      this.limits.forget(m.userId, m.scope);
      for (const room of this.rooms.values()) {
        for (const c of room) {
          if (c.user.userId === m.userId && (m.scope === 'platform' || m.scope === `room:${c.ownerId}`)) {
            send(c.ws, { type: 'restricted', kind: m.restriction.kind, until: m.restriction.until, reason: m.restriction.reason });
          }
        }
      }
      return;
    }
    const prefix = `${this.deps.prefix}:chat:`;
    if (!channel.startsWith(prefix)) return;
    const room = this.rooms.get(channel.slice(prefix.length));
    if (!room) return;
    // encode once for the whole room, not once per socket
    const frame = Buffer.from(message, 'utf8');
    for (const c of room) if (c.ws.readyState === c.ws.OPEN) c.ws.send(frame, { binary: false, compress: false });
  }
}

function send(ws: WebSocket, m: ServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The session token from the `warden_session` cookie, or the `token` query parameter (non-browser clients). */
function sessionToken(req: IncomingMessage, url: URL): string | null {
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'warden_session') return decodeURIComponent(v.join('='));
  }
  return url.searchParams.get('token');
}
