/**
 * A minimal RTMP client for the fuzz suite: the simple handshake, AMF0 commands in chunks of 128 bytes, and raw
 * bytes whenever the suite wants to misbehave (which ffmpeg will not do: it refuses odd stream names itself).
 * Everything it sends is plain RTMP 1.0 (Adobe's specification, sections 5.2–5.4 and 7.2).
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

/** An AMF0 value the encoder knows: number, boolean, string, null, or an object of those. */
export type Amf = number | boolean | string | null | { [k: string]: Amf };

/** Encodes AMF0 values (a long string for strings past 65,535 bytes). */
export function amf0(values: Amf[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(Math.min(b.length, 0xffff));
    return Buffer.concat([len, b.subarray(0, 0xffff)]);
  };
  const one = (v: Amf): void => {
    if (v === null) parts.push(Buffer.from([0x05]));
    else if (typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0; b.writeDoubleBE(v, 1); parts.push(b); }
    else if (typeof v === 'boolean') parts.push(Buffer.from([0x01, v ? 1 : 0]));
    else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      if (b.length <= 0xffff) parts.push(Buffer.from([0x02]), str(v));
      else { const h = Buffer.alloc(5); h[0] = 0x0c; h.writeUInt32BE(b.length, 1); parts.push(h, b); }
    } else {
      parts.push(Buffer.from([0x03]));
      for (const [k, x] of Object.entries(v)) { parts.push(str(k)); one(x); }
      parts.push(Buffer.from([0, 0, 0x09]));
    }
  };
  for (const v of values) one(v);
  return Buffer.concat(parts);
}

/**
 * One RTMP message as chunks on chunk stream `csid` (a type-0 header, then type-3 continuation headers every
 * 128 bytes).
 */
export function chunked(type: number, payload: Buffer, streamId = 0, csid = 3): Buffer {
  const header = Buffer.alloc(12);
  header[0] = csid & 0x3f;
  header.writeUIntBE(0, 1, 3);
  header.writeUIntBE(Math.min(payload.length, 0xffffff), 4, 3);
  header[7] = type;
  header.writeUInt32LE(streamId, 8);
  const out: Buffer[] = [header];
  for (let i = 0; i < payload.length; i += 128) {
    if (i > 0) out.push(Buffer.from([0xc0 | (csid & 0x3f)]));
    out.push(payload.subarray(i, i + 128));
  }
  return Buffer.concat(out);
}

/** An AMF0 command message (type 20). */
export const command = (values: Amf[], streamId = 0) => chunked(20, amf0(values), streamId);

/** What became of a connection: the server closed it (and how long that took), or it was still open at the deadline. */
export interface Outcome { closedBy: 'server' | 'deadline'; ms: number; received: number }

/** A raw RTMP connection: `send` bytes, `handshake()`, and `outcome(deadlineMs)` to see whether the server dropped it. */
export class RtmpConn {
  readonly socket: net.Socket;
  private readonly opened = Date.now();
  private received = Buffer.alloc(0);
  private closedAt: number | null = null;
  private readonly closed: Promise<void>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.on('data', (d: Buffer) => { if (this.received.length < 1 << 20) this.received = Buffer.concat([this.received, d]); });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      // the server ending its side (FIN) or resetting counts as dropping us
      const done = () => { this.closedAt ??= Date.now(); resolve(); };
      this.socket.once('end', done);
      this.socket.once('close', done);
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState === 'open') return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(b: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
  }

  /** C0 + C1, wait for S0 + S1 + S2 (3,073 bytes), then C2. @returns false when the server did not answer in time. */
  async handshake(timeoutMs = 5000): Promise<boolean> {
    await this.connected();
    const c1 = Buffer.concat([Buffer.alloc(8), randomBytes(1528)]);
    this.send(Buffer.concat([Buffer.from([3]), c1]));
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < 3073) {
      if (Date.now() > deadline || this.closedAt) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    this.send(this.received.subarray(1, 1537)); // C2 echoes S1
    return true;
  }

  /** `connect` to an application (tcUrl made from it unless given), `createStream`, then `publish` or `play` a name. */
  async open(app: string, verb: 'publish' | 'play', name: string, opts: { tcUrl?: Amf } = {}): Promise<void> {
    this.send(command(['connect', 1, { app, type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl: opts.tcUrl ?? `rtmp://127.0.0.1/${app}` }]));
    this.send(command(['createStream', 2, null]));
    await new Promise((r) => setTimeout(r, 50));
    this.send(verb === 'publish' ? command(['publish', 3, null, name, 'live'], 1) : command(['play', 3, null, name, -2000], 1));
  }

  /** Waits until the server drops the connection or `deadlineMs` passes; then closes our end. */
  async outcome(deadlineMs: number): Promise<Outcome> {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, deadlineMs))]);
    const out: Outcome = this.closedAt
      ? { closedBy: 'server', ms: this.closedAt - this.opened, received: this.received.length }
      : { closedBy: 'deadline', ms: Date.now() - this.opened, received: this.received.length };
    this.socket.destroy();
    return out;
  }
}
