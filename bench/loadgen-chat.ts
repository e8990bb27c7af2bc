/**
 * The load generator's chat viewers, in a process of their own (as their devices would be, and so their event loop
 * is not the server's when Warden runs in the bench process): M signed-in viewers connected over WebSocket to
 * `/chat/<broadcast id>`, spread across the rooms, and posts at a total rate with a realistic mix (mostly clean chat,
 * some flagged, some blocked), each post's verdict round trip measured (send → the sender's ack, held, blocked or
 * refused). Forked by bench/loadgen.ts, driven over IPC: `start`, then `window` (figures since the last window, for
 * stepped measurements) and `stop` (the last window, then exit).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { rng } from './gates-common.ts';

/** Messages from the load generator. */
export type ChatCommand =
  | { type: 'start'; api: string; rooms: string[]; tokens: string[]; ratePerS: number; seed: number }
  | { type: 'rate'; ratePerS: number }
  | { type: 'window' }
  | { type: 'stop' };

/** What one window measured (raw round trips in ms, counts). */
export interface ChatWindow {
  seconds: number;
  sent: number;
  /** Verdicts: allowed (delivered to the room), flagged (delivered, recorded), held, blocked. */
  verdicts: { allow: number; flag: number; held: number; blocked: number };
  /** Refusals before analysis, by code (rate_limited, duplicate, restricted…). */
  refused: Record<string, number>;
  /** Chat messages received by viewers (fan-out deliveries, every viewer of the room). */
  deliveries: number;
  /** Send → verdict (ack, held, blocked) and send → refusal, ms. */
  verdictRttMs: number[];
  refusalRttMs: number[];
  /** Posts without an answer yet at the end of the window. */
  unanswered: number;
}

/** Replies to the load generator. */
export type ChatReply =
  | { type: 'connected'; viewers: number; failed: string[] }
  | { type: 'window'; window: ChatWindow }
  | { type: 'error'; message: string };

const CLEAN_WORDS = ('hello hi hey everyone chat stream tonight great song love this play that again wow nice amazing lol haha omg ' +
  'game level camera light music dance beautiful outfit thanks welcome back from brazil germany canada morning evening night ' +
  'how are you doing today what is your favourite the a and so much very cool vibe mood gorgeous smile laugh story').split(' ');
/** Flagged (delivered, recorded for review): profanity, links. */
const FLAGGED = ['you are a stupid bitch {w}', 'visit {w}views.example.com for followers', 'damn this is {w} good', 'check out {w}.example.org'];
/**
 * Blocked (not delivered, the sender told why): contact solicitation, personal data, off-platform payment. Threats and
 * slurs are left out on purpose: three of them in an hour ban the account (the policy's follow-up), which would turn
 * the rest of a run into refusals.
 */
const BLOCKED = ['add me on snapchat {w}_22', 'call me at 555 {n} 4567', 'send it to my cashapp ${w}22', 'dm me on telegram @{w}x'];


interface Viewer { ws: WebSocket; pending: number[]; blockedAt: number[] }

let viewers: Viewer[] = [];
let rand = rng(1);
let ratePerS = 0;
let timer: NodeJS.Timeout | undefined;
let next = 0;
let counter = 0;
let win: ChatWindow;
let winStart = performance.now();
const reply = (m: ChatReply) => process.send?.(m);

function newWindow(): ChatWindow {
  return { seconds: 0, sent: 0, verdicts: { allow: 0, flag: 0, held: 0, blocked: 0 }, refused: {}, deliveries: 0, verdictRttMs: [], refusalRttMs: [], unanswered: 0 };
}
win = newWindow();

/**
 * The next message of the mix for a viewer: about 88% clean chat, 7% flagged, 5% blocked (a viewer sends at most two
 * blocked ones in five minutes, under the policy's three-blocks timeout). Every text is unique (duplicates are refused).
 */
function message(v: Viewer, now: number): string {
  counter++;
  const w = () => CLEAN_WORDS[Math.floor(rand() * CLEAN_WORDS.length)]!;
  const tag = `${w()}${counter.toString(36)}`;
  const r = rand();
  v.blockedAt = v.blockedAt.filter((t) => now - t < 300_000);
  if (r < 0.05 && v.blockedAt.length < 2) {
    v.blockedAt.push(now);
    return BLOCKED[counter % BLOCKED.length]!.replace('{w}', tag).replace('{n}', String(100 + (counter % 900)));
  }
  if (r < 0.12) return FLAGGED[counter % FLAGGED.length]!.replace('{w}', tag);
  const n = 3 + Math.floor(rand() * 10);
  return [...Array.from({ length: n }, w), tag].join(' ');
}

function onServerMessage(v: Viewer, data: WebSocket.RawData): void {
  const m = JSON.parse(data.toString()) as { type: string; verdict?: string; code?: string };
  if (m.type === 'message') { win.deliveries++; return; }
  if (m.type !== 'ack' && m.type !== 'held' && m.type !== 'blocked' && m.type !== 'refused') return;
  const sentAt = v.pending.shift();
  const rtt = sentAt === undefined ? undefined : performance.now() - sentAt;
  if (m.type === 'refused') {
    win.refused[m.code ?? 'unknown'] = (win.refused[m.code ?? 'unknown'] ?? 0) + 1;
    if (rtt !== undefined) win.refusalRttMs.push(rtt);
    return;
  }
  if (m.type === 'ack') win.verdicts[m.verdict === 'flag' ? 'flag' : 'allow']++;
  else win.verdicts[m.type]++;
  if (rtt !== undefined) win.verdictRttMs.push(rtt);
}

/** Posts on a fixed schedule (a late tick catches up), each by the next viewer in turn. */
function schedule(): void {
  clearInterval(timer);
  if (ratePerS <= 0 || viewers.length === 0) return;
  next = performance.now();
  let turn = 0;
  timer = setInterval(() => {
    const now = performance.now();
    while (next <= now) {
      next += 1000 / ratePerS;
      const open = viewers.length;
      for (let tries = 0; tries < open; tries++) {
        const v = viewers[turn++ % open]!;
        if (v.ws.readyState !== WebSocket.OPEN) continue;
        v.pending.push(performance.now());
        v.ws.send(JSON.stringify({ type: 'message', text: message(v, Date.now()) }));
        win.sent++;
        break;
      }
    }
  }, 5);
}

async function start(cmd: Extract<ChatCommand, { type: 'start' }>): Promise<void> {
  rand = rng(cmd.seed);
  const failed: string[] = [];
  const base = cmd.api.replace(/^http/, 'ws');
  for (let i = 0; i < cmd.tokens.length; i += 50) {
    const batch = cmd.tokens.slice(i, i + 50).map((token, j) => new Promise<void>((resolve) => {
      const room = cmd.rooms[(i + j) % cmd.rooms.length]!;
      const ws = new WebSocket(`${base}/chat/${room}`, { headers: { cookie: `warden_session=${token}` } });
      const v: Viewer = { ws, pending: [], blockedAt: [] };
      ws.on('message', (d) => onServerMessage(v, d));
      ws.on('error', () => {});
      ws.once('open', () => { viewers.push(v); resolve(); });
      ws.once('unexpected-response', (_req, res) => { failed.push(`HTTP ${res.statusCode}`); resolve(); });
      ws.once('close', () => resolve());
    }));
    await Promise.all(batch);
  }
  ratePerS = cmd.ratePerS;
  win = newWindow();
  winStart = performance.now();
  schedule();
  reply({ type: 'connected', viewers: viewers.length, failed: failed.slice(0, 20) });
}

function takeWindow(): ChatWindow {
  const w = win;
  w.seconds = (performance.now() - winStart) / 1000;
  w.unanswered = viewers.reduce((n, v) => n + v.pending.length, 0);
  win = newWindow();
  winStart = performance.now();
  return w;
}

process.on('message', (cmd: ChatCommand) => {
  void (async () => {
    try {
      if (cmd.type === 'start') await start(cmd);
      else if (cmd.type === 'rate') { ratePerS = cmd.ratePerS; schedule(); }
      else if (cmd.type === 'window') reply({ type: 'window', window: takeWindow() });
      else {
        clearInterval(timer);
        await new Promise((r) => setTimeout(r, 1000)); // the last answers
        reply({ type: 'window', window: takeWindow() });
        for (const v of viewers) v.ws.terminate();
        viewers = [];
        setTimeout(() => process.exit(0), 50);
      }
    } catch (err) {
      reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.once('disconnect', () => process.exit(0)); // the load generator died
