/**
 * The play gate: who may watch a live broadcast, bound to one viewer and one play.
 *
 * The API decides (api/broadcasts.ts: an attested adult, not banned, the broadcast live and not hidden; the
 * performer and staff always) and issues a one-time play token: 32 random bytes, stored in Redis under its hash
 * with the viewer, the broadcast and whether the viewer is exempt from hiding, for {@link PLAY_TOKEN_TTL_S}
 * seconds. The play URL (`rtmp://<node>/watch/<broadcast id>?token=<token>`) points at the ingest node holding
 * the broadcast; that node's {@link ViewerSessions.admit} takes the token out of Redis (GETDEL: a URL plays
 * once) before node-media-server attaches the player, checks again that the viewer is not banned and the stream
 * not hidden, and remembers which viewer holds which play session, so bans and a hidden stream disconnect them
 * on every node (enforcement messages over Redis pub/sub).
 *
 * Browsers cannot play RTMP: the same token also opens an HTTP-FLV play (`/flv/watch/<broadcast id>.flv?token=…`,
 * ingest/flv.ts) on the holding node's HTTP server, decided by {@link ViewerSessions.decide} and remembered by
 * {@link ViewerSessions.attach} exactly like an RTMP play. One token opens one play, of either kind.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { hashToken, randomToken } from '../core/tokens.ts';
import { hiddenBroadcastKey, restrictionKey } from '../moderation/index.ts';
import type { MediaServer, NmsSession } from './media-server.ts';

/** The RTMP application viewers play from (`/watch/<broadcast id>`); publishers use `/live/<stream key>`. */
export const PLAY_APP = 'watch';
/** Seconds a play token stays usable. */
export const PLAY_TOKEN_TTL_S = 60;

/** The path a broadcast is played under. */
export const playPath = (broadcastId: string) => `/${PLAY_APP}/${broadcastId}`;

/**
 * What a play token grants, as stored in Redis. `exempt`: the broadcast's performer or staff, who may play a
 * hidden stream and are not checked for bans in the room. `issuedAt`: ms since the epoch.
 */
export interface PlayGrant { viewerId: string; broadcastId: string; ownerId: string; exempt: boolean; issuedAt: number }

/**
 * Where an ingest node's RTMP server listens. `rtmpHost` null: every interface (use the host the client called).
 * `publicAuthority`: `host:port` viewers reach it at (RTMP_PUBLIC_HOST), when configured; it wins over both.
 * `http`: where the node serves HTTP-FLV plays (its API's HTTP server; `host` null: every interface; `publicUrl`:
 * its PUBLIC_URL when set, which wins), absent on a node that runs ingest without the API (RTMP plays only).
 */
export interface IngestNodeAddress {
  rtmpHost: string | null;
  rtmpPort: number;
  publicAuthority?: string | null;
  http?: { host: string | null; port: number; publicUrl?: string | null } | null;
}

/**
 * The `host:port` of a play URL for a node: its configured public authority, else its bind host (or, bound to
 * every interface, the host the client called the API on) with its RTMP port. IPv6 hosts are bracketed.
 */
export function playAuthority(node: IngestNodeAddress, requestHost: string): string {
  if (node.publicAuthority) return node.publicAuthority;
  const host = node.rtmpHost ?? requestHost;
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${node.rtmpPort}`;
}

/** RTMP_PUBLIC_HOST as an authority: given `host` or `host:port` (`[v6]` or `[v6]:port`); no port → the node's. */
export function publicAuthority(publicHost: string | null, rtmpPort: number): string | null {
  if (!publicHost) return null;
  const hasPort = publicHost.startsWith('[') ? /\]:\d+$/.test(publicHost) : /:\d+$/.test(publicHost);
  return hasPort ? publicHost : `${publicHost}:${rtmpPort}`;
}

/**
 * The origin of an HTTP-FLV URL on another node: its PUBLIC_URL when set (`https://node-2.example.com`), else
 * `host:port` from its HTTP bind host (or, bound to every interface, the host the client called the API on) and
 * port (the caller adds `http://`). @returns null when the node serves no HTTP-FLV.
 */
export function flvAuthority(node: IngestNodeAddress, requestHost: string): string | null {
  if (!node.http) return null;
  if (node.http.publicUrl) return node.http.publicUrl;
  const host = node.http.host ?? requestHost;
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${node.http.port}`;
}

/** The path of a broadcast's HTTP-FLV play on its ingest node's HTTP server (the token goes in `?token=`). */
export const flvPlayPath = (broadcastId: string) => `/flv/${PLAY_APP}/${broadcastId}.flv`;

const tokenKey = (prefix: string, token: string) => `${prefix}:play:token:${hashToken(token)}`;
const nodesKey = (prefix: string) => `${prefix}:ingest:nodes`;

/** Records where an ingest node's RTMP server listens (the play API points viewers there). */
export async function registerIngestNode(redis: Redis, prefix: string, nodeId: string, addr: IngestNodeAddress): Promise<void> {
  await redis.hset(nodesKey(prefix), nodeId, JSON.stringify(addr));
}

/** Forgets an ingest node (it stopped). */
export async function unregisterIngestNode(redis: Redis, prefix: string, nodeId: string): Promise<void> {
  await redis.hdel(nodesKey(prefix), nodeId);
}

/** Where an ingest node's RTMP server listens. @returns null for a node that is not running. */
export async function ingestNodeAddress(redis: Redis, prefix: string, nodeId: string): Promise<IngestNodeAddress | null> {
  const raw = await redis.hget(nodesKey(prefix), nodeId);
  return raw ? JSON.parse(raw) as IngestNodeAddress : null;
}

/**
 * Issues a one-time play token for a grant the caller has decided on.
 * @returns the token (goes into the play URL; only its hash is stored) and when it stops working.
 */
export async function issuePlayToken(redis: Redis, prefix: string, grant: Omit<PlayGrant, 'issuedAt'>): Promise<{ token: string; expiresAt: Date }> {
  const token = randomToken();
  const issuedAt = Date.now();
  await redis.set(tokenKey(prefix, token), JSON.stringify({ ...grant, issuedAt } satisfies PlayGrant), 'EX', PLAY_TOKEN_TTL_S);
  return { token, expiresAt: new Date(issuedAt + PLAY_TOKEN_TTL_S * 1000) };
}

/** Takes a play token out of Redis (it works once). @returns its grant, or null when unknown, used or expired. */
export async function consumePlayToken(redis: Redis, prefix: string, token: string): Promise<PlayGrant | null> {
  const raw = await redis.getdel(tokenKey(prefix, token));
  return raw ? JSON.parse(raw) as PlayGrant : null;
}

/** A play this node admitted. */
interface ViewerPlay { session: NmsSession; viewerId: string; broadcastId: string; ownerId: string; exempt: boolean; startedAt: number }

/** Why a play was refused at the media server (logged, counted by tests). */
export type PlayRefusal = 'no_token' | 'unknown_token' | 'other_stream' | 'not_live' | 'banned' | 'hidden' | 'unavailable';

export interface ViewerSessionsDeps {
  /** A command connection (not the subscriber). */
  redis: Redis;
  prefix: string;
  server: MediaServer;
  logger: Logger;
  /** Told of each counted play (not exempt) that joins (+1) or leaves (-1) a broadcast: ingest/viewer-counts.ts. */
  audience?: { add(broadcastId: string, delta: number): void };
}

/** The viewers playing on this ingest node, by node-media-server session: admitted with a token, dropped on enforcement. */
export class ViewerSessions {
  private readonly plays = new Map<string, ViewerPlay>();
  private readonly log: Logger;
  constructor(private readonly deps: ViewerSessionsDeps) {
    this.log = deps.logger.child({ subsystem: 'play-gate' });
  }

  /** Viewers playing on this node now (tests, metrics). */
  get count(): number {
    return this.plays.size;
  }

  /**
   * Decides a `/watch/<broadcast id>` play: the token must be unused, unexpired and for this broadcast, which must
   * be live on this node (`live`: its owner, when it is); a viewer who is not exempt must not be banned
   * (platform or the room, from the Redis mirror every ban writes) nor the stream hidden. An admitted play is
   * signed for node-media-server and remembered.
   * @returns the refusal, or null when admitted.
   */
  async admit(session: NmsSession, live: { ownerId: string } | undefined): Promise<PlayRefusal | null> {
    const verdict = await this.decide(session.streamQuery.token, session.streamName, live, session.id);
    if (typeof verdict === 'string') return verdict;
    this.attach(session, verdict);
    return null;
  }

  /**
   * The decision of {@link admit} without a session yet (an HTTP-FLV play is decided before node-media-server's
   * session exists, so a refused request never touches the media server): takes the token out of Redis (it works
   * once, whatever the answer), then checks it as {@link admit} does. Refusals are logged (never the token).
   * @param requestId names the request in the log.
   * @returns the grant to {@link attach}, or the refusal.
   */
  async decide(token: string | undefined, broadcastId: string, live: { ownerId: string } | undefined, requestId: string): Promise<PlayRefusal | PlayGrant> {
    const verdict = await this.check(token, broadcastId, live).catch((): PlayRefusal => 'unavailable');
    if (typeof verdict === 'string') this.log.info({ sessionId: requestId, broadcastId, refusal: verdict }, 'play refused');
    return verdict;
  }

  /**
   * Remembers an admitted play (so bans, a hidden stream and the broadcast's end disconnect it) and signs it for
   * node-media-server's own check. Call synchronously before the session joins the stream.
   */
  attach(session: NmsSession, grant: PlayGrant): void {
    const known = this.plays.get(session.id);
    if (known) this.forget(session.id, known);
    this.plays.set(session.id, { session, viewerId: grant.viewerId, broadcastId: grant.broadcastId, ownerId: grant.ownerId, exempt: grant.exempt, startedAt: Date.now() });
    if (!grant.exempt) this.deps.audience?.add(grant.broadcastId, 1);
    this.deps.server.signPlay(session);
    this.log.info({ sessionId: session.id, protocol: session.protocol, broadcastId: grant.broadcastId, viewerId: grant.viewerId, exempt: grant.exempt }, 'play admitted');
  }

  private async check(token: string | undefined, broadcastId: string, live: { ownerId: string } | undefined): Promise<PlayRefusal | PlayGrant> {
    if (!token) return 'no_token';
    const { redis, prefix } = this.deps;
    const grant = await consumePlayToken(redis, prefix, token);
    if (!grant) return 'unknown_token';
    if (grant.broadcastId !== broadcastId) return 'other_stream';
    if (!live) return 'not_live';
    if (grant.exempt) return grant;
    const [hidden, platform, room] = await redis.mget(
      hiddenBroadcastKey(prefix, grant.broadcastId), restrictionKey(prefix, 'platform', grant.viewerId), restrictionKey(prefix, `room:${live.ownerId}`, grant.viewerId),
    );
    if ([platform, room].some((r) => r && ['ban', 'suspension'].includes((JSON.parse(r) as { kind: string }).kind))) return 'banned';
    if (hidden) return 'hidden';
    return grant;
  }

  /** Whether node-media-server's session is a play this gate admitted. */
  admitted(session: NmsSession): boolean {
    return this.plays.get(session.id)?.session === session;
  }

  /** Forgets a play that ended (node-media-server's donePlay). */
  left(session: NmsSession): void {
    const p = this.plays.get(session.id);
    if (p?.session !== session) return;
    this.forget(session.id, p);
    this.log.debug({ sessionId: session.id, broadcastId: p.broadcastId, seconds: Math.round((Date.now() - p.startedAt) / 1000) }, 'play ended');
  }

  /**
   * Disconnects a viewer's plays on this node: every one (`ownerId` undefined: a platform-wide ban), or those in
   * one performer's room (a room ban). @returns how many.
   */
  dropViewer(viewerId: string, reason: string, ownerId?: string): number {
    return this.drop((p) => p.viewerId === viewerId && (ownerId === undefined || p.ownerId === ownerId), reason);
  }

  /** Disconnects the plays of a broadcast on this node; `keepExempt`: not the performer's and staff's. @returns how many. */
  dropBroadcast(broadcastId: string, reason: string, opts: { keepExempt: boolean }): number {
    return this.drop((p) => p.broadcastId === broadcastId && !(opts.keepExempt && p.exempt), reason);
  }

  private drop(which: (p: ViewerPlay) => boolean, reason: string): number {
    let n = 0;
    for (const [id, p] of this.plays) {
      if (!which(p)) continue;
      this.forget(id, p);
      this.deps.server.disconnect(p.session);
      n++;
      this.log.info({ sessionId: id, broadcastId: p.broadcastId, viewerId: p.viewerId, reason }, 'play disconnected');
    }
    return n;
  }

  private forget(id: string, p: ViewerPlay): void {
    this.plays.delete(id);
    if (!p.exempt) this.deps.audience?.add(p.broadcastId, -1);
  }
}
