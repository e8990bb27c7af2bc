/**
 * node-media-server's per-packet relay without the copies nobody reads. Its `BroadcastServer.broadcastMessage`
 * (v4.4) builds every packet twice — as an FLV tag and as RTMP chunks — and keeps both in two GOP caches, although
 * on a Warden node every broadcast has an FLV subscriber (its tap, ingest/tap-feed.ts) and RTMP players are the
 * exception. Each copy is a fresh ArrayBuffer, and V8 counts ArrayBuffer bytes towards its full-collection limit:
 * at twenty 720p30 streams, leaving out the second copy took the ingest process from 34–38 mark-compacts in 20 s to
 * 25–28 and from 0.36 to 0.29 cores (`--trace-gc`, before HEAP_GROWING_PERCENT; see README "Capacity").
 *
 * {@link installLeanRelay} replaces the method on one broadcast object with one that builds the FLV tag (as
 * before), builds RTMP chunks for a packet only while an RTMP player is attached, and keeps one GOP cache, of FLV
 * tags. An RTMP player that joins gets that GOP converted to RTMP chunks on the spot (one GOP, once per play). What
 * each subscriber receives is byte for byte what node-media-server's own method sends (ingest/relay.test.ts compares
 * the two); its other steps — the timestamp offset of a resumed publish, metadata read into the publisher's
 * fields, the 4,096-tag cap on the GOP cache — are kept as they are.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** node-media-server's AVPacket (src/core/avpacket.js): one FLV tag body and its timing. */
export interface AvPacket {
  codec_id: number;
  codec_type: number;
  duration: number;
  /** 0 audio header, 1 audio, 2 video header, 3 video keyframe, 4 video inter frame, 5 metadata. */
  flags: number;
  pts: number;
  dts: number;
  size: number;
  offset: number;
  data: Buffer;
}

interface Subscriber {
  protocol: string;
  sendBuffer(buffer: Buffer): void;
}

/** The BroadcastServer fields the relay reads and writes (node-media-server src/server/broadcast_server.js). */
export interface RelayedBroadcast {
  publisher: Record<string, unknown> | null;
  subscribers: Map<string, Subscriber>;
  flvMetaData: Buffer | null;
  flvAudioHeader: Buffer | null;
  flvVideoHeader: Buffer | null;
  rtmpMetaData: Buffer | null;
  rtmpAudioHeader: Buffer | null;
  rtmpVideoHeader: Buffer | null;
  flvGopCache: Set<Buffer> | null;
  rtmpGopCache: Set<Buffer> | null;
  _lastDts: Record<number, number>;
  _dtsOffset: Record<number, number>;
  broadcastMessage(packet: AvPacket): void;
  postPlay(session: Subscriber): string | null;
}

const Flv = require('node-media-server/src/protocol/flv.js') as { createMessage(p: AvPacket): Buffer };
const Rtmp = require('node-media-server/src/protocol/rtmp.js') as { createMessage(p: AvPacket): Buffer };
const { decodeAmf0Data } = require('node-media-server/src/protocol/amf.js') as {
  decodeAmf0Data(data: Buffer): { cmd: string; dataObj: Record<string, unknown> | null };
};

/** Node-media-server's GOP cache cap: a GOP longer than this many tags is dropped (the next keyframe starts anew). */
const GOP_CACHE_MAX_TAGS = 4096;

const installed = new WeakSet<object>();

/**
 * Rebuilds the AVPacket an FLV tag was made from (E.4.1: type, 24-bit data size, 24-bit timestamp + 8-bit extension,
 * stream id, body, 4-byte previous tag size), sharing the tag's bytes, so RTMP chunks can be made from a cached tag.
 */
export function packetOfFlvTag(tag: Buffer): AvPacket {
  const size = tag.readUIntBE(1, 3);
  const dts = (tag.readUIntBE(4, 3) | (tag[7]! << 24)) >>> 0;
  return { codec_id: 0, codec_type: tag[0]! & 0x1f, duration: 0, flags: 0, pts: dts, dts, size, offset: 0, data: tag.subarray(11, 11 + size) };
}

/** Reads a publisher's onMetaData into its fields, as node-media-server does (its statistics and API). */
function readMetadata(b: RelayedBroadcast, packet: AvPacket): void {
  const metadata = decodeAmf0Data(packet.data);
  const d = metadata.dataObj;
  if (!b.publisher || d === null || (metadata.cmd !== '@setDataFrame' && metadata.cmd !== 'onMetaData')) return;
  Object.assign(b.publisher, {
    audioCodec: d.audiocodecid, audioChannels: d.stereo ? 2 : 1, audioSamplerate: d.audiosamplerate, audioDatarate: d.audiodatarate,
    videoCodec: d.videocodecid, videoWidth: d.width, videoHeight: d.height, videoFramerate: d.framerate, videoDatarate: d.videodatarate,
  });
}

/**
 * Replaces `broadcast.broadcastMessage` and wraps `broadcast.postPlay` (see the module comment). Idempotent: a
 * broadcast object node-media-server keeps across a publisher's reconnect is installed once.
 */
export function installLeanRelay(broadcast: RelayedBroadcast): void {
  if (installed.has(broadcast)) return;
  installed.add(broadcast);
  const b = broadcast;
  b.rtmpGopCache?.clear();
  b.rtmpGopCache = null;

  b.broadcastMessage = (packet: AvPacket) => {
    // a resumed publish continues the timeline past the previous publish's last dts
    const dtsOffset = b._dtsOffset[packet.codec_type] || 0;
    if (dtsOffset > 0 && (packet.flags === 1 || packet.flags === 3 || packet.flags === 4)) {
      packet.dts += dtsOffset;
      packet.pts += dtsOffset;
    }
    if (packet.codec_type === 8 || packet.codec_type === 9) b._lastDts[packet.codec_type] = packet.dts;
    if (packet.flags === 5) readMetadata(b, packet);
    const flv = Flv.createMessage(packet);
    switch (packet.flags) {
      case 0:
        b.flvAudioHeader = flv;
        b.rtmpAudioHeader = Rtmp.createMessage(packet);
        break;
      case 2:
        b.flvVideoHeader = flv;
        b.rtmpVideoHeader = Rtmp.createMessage(packet);
        break;
      case 5:
        b.flvMetaData = flv;
        b.rtmpMetaData = Rtmp.createMessage(packet);
        break;
      case 3:
        b.flvGopCache?.clear();
        b.flvGopCache = new Set([flv]);
        break;
      case 1:
      case 4:
        b.flvGopCache?.add(flv);
        break;
    }
    if (b.flvGopCache && b.flvGopCache.size > GOP_CACHE_MAX_TAGS) b.flvGopCache.clear();
    let rtmp: Buffer | null = null; // the packet's data is the RTMP parser's buffer: made now or never
    for (const s of b.subscribers.values()) {
      if (s.protocol === 'flv') s.sendBuffer(flv);
      else if (s.protocol === 'rtmp') s.sendBuffer(rtmp ??= Rtmp.createMessage(packet));
    }
  };

  const postPlay = b.postPlay;
  b.postPlay = (session: Subscriber) => {
    if (session.protocol !== 'rtmp' || !b.flvGopCache) return postPlay(session);
    // node-media-server's own postPlay (events, signature check, headers) sends this GOP to the new RTMP player
    b.rtmpGopCache = new Set(Array.from(b.flvGopCache, (tag) => Rtmp.createMessage(packetOfFlvTag(tag))));
    try {
      return postPlay(session);
    } finally {
      b.rtmpGopCache = null;
    }
  };
}
