/**
 * The demo's chat segment: while the broadcast is live, a viewer posts a scripted set of messages (clean
 * chat, evasions, innocent look-alikes, a possible minor) and a second viewer reads the room (both signed in as
 * attested adults: joining a room's chat needs one). Prints what each got, and returns the counts by verdict.
 */
import { connectChat } from '../ingest/chat/index.ts';
import type { Db } from '../db/index.ts';
import { seedSession } from './seed.ts';

const script: { text: string; note: string }[] = [
  { text: 'hi everyone, loving the stream tonight', note: 'clean' },
  { text: 'greetings from Scunthorpe!', note: 'innocent look-alike' },
  { text: 'that cocktail looks amazing', note: 'innocent look-alike' },
  { text: 'add me on snapchat: demo_fan99', note: 'contact solicitation' },
  { text: "i'm 15 btw", note: 'possible minor: held for a moderator' },
  { text: 'a\u200bdd me on snаpchat demo_fan99', note: 'evasion: zero-width space + Cyrillic а' },
  { text: 'my number is 555 123 4567 call me', note: 'personal data; third block in 5 min: timeout' },
  { text: 'sorry!', note: 'timed out' },
];

/** Runs the chat script against a live broadcast. */
export async function runDemoChat(db: Db, httpUrl: string, broadcastId: string, out: (l: string) => void): Promise<Record<string, number>> {
  const run = Date.now().toString(36); // fresh viewers: earlier runs' timeouts do not carry over
  const { token } = await seedSession(db, `demo-viewer-${run}`);
  const viewer = await connectChat(httpUrl, broadcastId, token);
  const watcher = await connectChat(httpUrl, broadcastId, (await seedSession(db, `demo-watcher-${run}`)).token);
  const counts: Record<string, number> = {};
  out('  chat: a viewer posts while a second viewer reads the room');
  try {
    for (const { text, note } of script) {
      const from = viewer.log.length;
      viewer.post(text);
      const reply = await Promise.race((['ack', 'held', 'blocked', 'refused'] as const).map((t) => viewer.next(t, 5000, from)));
      const verdict = reply.type === 'ack' ? reply.verdict : reply.type;
      counts[verdict] = (counts[verdict] ?? 0) + 1;
      const why = reply.type === 'blocked' ? ` (${reply.rules.join(', ')})` : reply.type === 'refused' ? ` (${reply.message})` : '';
      out(`    ${verdict.padEnd(7)} ${JSON.stringify(text).padEnd(48)} ${note}${why}`);
      await new Promise((r) => setTimeout(r, 2100)); // stay under the burst rate limit
    }
    await new Promise((r) => setTimeout(r, 300));
    const seen = watcher.log.filter((m) => m.type === 'message').length;
    out(`    the watcher received ${seen} of ${script.length} messages`);
    counts.delivered = seen;
  } finally {
    viewer.close();
    watcher.close();
  }
  return counts;
}
