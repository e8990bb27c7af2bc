/**
 * The in-process feed's sampling before decoding (KeyframeFeed) on a real x264 stream in FLV, as node-media-server hands
 * it over: which keyframes reach ffmpeg at the base and a stretched interval, the SPS rewrite, a timestamp
 * discontinuity, and the fallback when the configuration record cannot be read.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findReorderField, toRbsp } from './h264-sps.ts';
import { KeyframeFeed } from './tap-feed.ts';
import { x264FlvTags } from './test-flv.ts';

/** 20 s of test card, x264 with B-pyramid, a keyframe every second, AAC audio, as FLV tags (header first). */
const flvTags = () => x264FlvTags(20, 'keyint=30:min-keyint=30:scenecut=0:bframes=3:b-pyramid=normal');

const isConfig = (t: Buffer) => t[0] === 9 && t.length > 16 && t[12] === 0;
/** The keyframes' presentation times (s) among what the feed wrote. */
const keyTimes = (feed: KeyframeFeed, tags: Buffer[]) => tags.flatMap((t) => {
  const d = feed.push(t);
  return d.out && d.packet?.key ? [d.packet.pts] : [];
});

describe('KeyframeFeed', () => {
  let tags: Buffer[];
  beforeAll(() => { tags = flvTags(); });

  it('writes one keyframe per base interval (of a keyframe every second), with the configuration saying nothing is reordered', () => {
    const feed = new KeyframeFeed('keyframes', 2000);
    const written: Buffer[] = [];
    let thinned = 0;
    for (const t of tags) {
      const d = feed.push(t);
      if (d.thinned) thinned++;
      if (d.out) written.push(d.out);
    }
    expect(feed.preThinning).toBe(true);
    const original = tags.find(isConfig)!;
    const config = written.find(isConfig)!;
    const sps = (record: Buffer) => record.subarray(16 + 8, 16 + 8 + record.readUInt16BE(16 + 6));
    expect(findReorderField(toRbsp(sps(original)))!.value).toBe(2);
    expect(findReorderField(toRbsp(sps(config)))!.value).toBe(0);
    expect(config.readUInt32BE(config.length - 4)).toBe(config.length - 4); // the tag's own size, rewritten
    const keys = written.filter((t) => t[0] === 9 && (t[11]! >> 4) === 1 && t[12] === 1);
    expect(keys.map((t) => t.readUIntBE(4, 3))).toEqual([0, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000].map((ms) => expect.closeTo(ms, -2)));
    expect(thinned).toBe(0); // left out at the base interval is sampling, not shedding
    expect(written.filter((t) => t[0] === 8).length).toBe(tags.filter((t) => t[0] === 8).length); // all audio
    expect(written.some((t) => t[0] === 9 && (t[11]! >> 4) !== 1)).toBe(false); // no inter frames
  });

  it('thins to a stretched interval by stream time, counting what it sheds, and back', () => {
    const feed = new KeyframeFeed('keyframes', 2000, 6000);
    const first = keyTimes(feed, tags.slice(0, Math.floor(tags.length / 2)));
    expect(first.map(Math.round)).toEqual([0, 6]);
    feed.setInterval(2000);
    const rest = keyTimes(feed, tags.slice(Math.floor(tags.length / 2)));
    for (let i = 1; i < rest.length; i++) expect(rest[i]! - rest[i - 1]!).toBeGreaterThanOrEqual(1.9);
    expect(rest.length).toBeGreaterThanOrEqual(4);
    const shed = new KeyframeFeed('keyframes', 2000, 6000);
    expect(tags.filter((t) => shed.push(t).thinned).length).toBe(6); // of the 10 the base interval keeps: 0, 6, 12, 18 kept
  });

  it('samples afresh when timestamps go back', () => {
    const feed = new KeyframeFeed('keyframes', 2000);
    const once = keyTimes(feed, tags);
    const again = keyTimes(feed, tags.slice(1)); // the same stream from 0 again, without the header
    expect(again).toEqual(once);
  });

  it('decodes every keyframe, as before, when the configuration record cannot be read', () => {
    const feed = new KeyframeFeed('keyframes', 2000);
    const broken = tags.map((t) => {
      if (!isConfig(t)) return t;
      const b = Buffer.from(t);
      b[16 + 7] = 0xff; // the SPS length runs past the record
      return b;
    });
    const keys = keyTimes(feed, broken);
    expect(feed.preThinning).toBe(false);
    expect(feed.note).toMatch(/^H\.264 configuration not rewritten \(AVCDecoderConfigurationRecord ends early\)/);
    expect(keys.length).toBe(20); // ffmpeg's select keeps one per interval, after decoding
  });

  it('forwards everything, untouched, in interval mode', () => {
    const feed = new KeyframeFeed('interval', 2000);
    for (const t of tags) expect(feed.push(t).out).toBe(t);
    expect(feed.preThinning).toBe(false);
  });
});
