/**
 * The lean relay (relay.ts) against node-media-server's own BroadcastServer.broadcastMessage on a real x264 + AAC
 * stream: FLV and RTMP players that join at the start, mid-GOP and after a later keyframe receive the same bytes from
 * both; the lean one keeps no RTMP copies. Packets are handed over in one reused buffer, as node-media-server's RTMP
 * parser does, so a relay that kept a packet's data instead of a copy would send corrupted tags.
 */
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { x264FlvTags } from './test-flv.ts';
import { installLeanRelay, packetOfFlvTag, type AvPacket, type RelayedBroadcast } from './relay.ts';

const require = createRequire(import.meta.url);
const BroadcastServer = require('node-media-server/src/server/broadcast_server.js') as new (path: string) => RelayedBroadcast;
const Flv = require('node-media-server/src/protocol/flv.js') as { parserTag(type: number, time: number, size: number, data: Buffer): AvPacket };

/** 6 s of test card (x264, B-frames, a keyframe every second) with AAC audio, as FLV tags (the file header left out). */
const flvTags = () => x264FlvTags(6, 'keyint=30:min-keyint=30:scenecut=0:bframes=2').slice(1);

/** A player: what it was sent, in order. */
function player(protocol: 'flv' | 'rtmp') {
  const sent: Buffer[] = [];
  return { protocol, ip: '', id: `${protocol}-${Math.random()}`, streamPath: '/live/x', sendBuffer: (b: Buffer) => { sent.push(Buffer.from(b)); }, sent };
}

/**
 * Publishes `tags` to a broadcast (timestamps shifted by `shiftMs`) through one reused payload buffer; players join
 * before the tag indexes given.
 */
function publish(b: RelayedBroadcast, tags: Buffer[], joins: Map<number, ReturnType<typeof player>[]>, shiftMs = 0) {
  b.publisher = {};
  const payload = Buffer.alloc(1 << 20);
  tags.forEach((tag, i) => {
    for (const p of joins.get(i) ?? []) expect(b.postPlay(p)).toBeNull();
    const size = tag.readUIntBE(1, 3);
    const time = ((tag.readUIntBE(4, 3) | (tag[7]! << 24)) >>> 0) + shiftMs;
    tag.copy(payload, 0, 11, 11 + size);
    b.broadcastMessage(Flv.parserTag(tag[0]!, time, size, payload));
    payload.fill(0xa5, 0, size); // what the parser's next message would overwrite
  });
}

describe('lean relay', () => {
  let tags: Buffer[];
  let keyframeAt: number[];
  beforeAll(() => {
    tags = flvTags();
    keyframeAt = tags.flatMap((t, i) => (t[0] === 9 && t[11]! >> 4 === 1 && t[12] === 1 ? [i] : []));
  });

  for (const shiftMs of [0, 0x1000000 + 1234]) {
    it(`sends every FLV and RTMP player what node-media-server's own relay sends (timestamps from ${shiftMs} ms)`, () => {
      expect(keyframeAt.length).toBeGreaterThanOrEqual(5);
      const midGop = keyframeAt[2]! + 7;
      const afterKey = keyframeAt[4]! + 1;
      const run = (lean: boolean) => {
        const b = new BroadcastServer('/live/x');
        if (lean) installLeanRelay(b);
        const players = { flvStart: player('flv'), rtmpStart: player('rtmp'), flvMid: player('flv'), rtmpMid: player('rtmp'), rtmpLate: player('rtmp') };
        publish(b, tags, new Map([[0, [players.flvStart, players.rtmpStart]], [midGop, [players.flvMid, players.rtmpMid]], [afterKey, [players.rtmpLate]]]), shiftMs);
        return { b, players };
      };
      const nms = run(false);
      const lean = run(true);
      for (const name of Object.keys(nms.players) as (keyof typeof nms.players)[]) {
        const want = Buffer.concat(nms.players[name].sent);
        const got = Buffer.concat(lean.players[name].sent);
        expect(got.length, name).toBe(want.length);
        expect(got.equals(want), name).toBe(true);
      }
      // a player that joined mid-GOP got the GOP from its keyframe (and the lean relay cached it once, as FLV)
      expect(lean.players.rtmpMid.sent.length).toBeGreaterThan(7);
      expect(lean.b.rtmpGopCache).toBeNull();
      expect(nms.b.rtmpGopCache!.size).toBe(lean.b.flvGopCache!.size);
    });
  }

  it('builds no RTMP chunks for media while only FLV subscribers (the tap) are attached', () => {
    const b = new BroadcastServer('/live/x');
    installLeanRelay(b);
    installLeanRelay(b); // idempotent: a reconnecting publisher's broadcast is installed once
    const tap = player('flv');
    const Rtmp = require('node-media-server/src/protocol/rtmp.js') as { createMessage: (p: AvPacket) => Buffer };
    const original = Rtmp.createMessage;
    let built = 0;
    Rtmp.createMessage = (p) => { built++; return original(p); };
    try {
      publish(b, tags, new Map([[0, [tap]]]));
    } finally {
      Rtmp.createMessage = original;
    }
    const headers = tags.filter((t) => t[0] === 18 || (t[0] === 9 && t[12] === 0) || (t[0] === 8 && t[12] === 0)).length;
    expect(built).toBe(headers); // only the sequence headers and metadata, kept for a later RTMP player
    expect(tap.sent.length).toBe(1 + tags.length); // the FLV file header, then every tag
  });

  it('reads an FLV tag back into the packet it was made from, extended timestamp included', () => {
    const tag = Buffer.from([9, 0, 0, 3, 0x12, 0x34, 0x56, 0x01, 0, 0, 0, 0x17, 0x01, 0x02, 0, 0, 0, 14]);
    const p = packetOfFlvTag(tag);
    expect(p).toMatchObject({ codec_type: 9, size: 3, dts: 0x01123456, pts: 0x01123456 });
    expect([...p.data]).toEqual([0x17, 0x01, 0x02]);
  });
});
