/**
 * The demo's trust-gates segment: a new performer is refused at the publish gate, submits an age/ID
 * verification over HTTP (date of birth, an ID-document photo and a selfie made from a real photograph shipped
 * with @vladmandic/face-api), the face match is printed, a moderator approves the case, the same key is then
 * accepted, and the live performer presses the panic button: the demo times it to the moderator's alert stream,
 * then acknowledges and resolves it.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Db } from '../db/index.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { publishRtmp } from './demo-media.ts';
import { DEMO_ACCOUNTS, signIn } from './demo-review.ts';
import { seedPerformer, seedSession } from './seed.ts';

/** What the segment showed. Times in ms. */
export interface DemoGates {
  beforeApproval: string;
  verification: { status: number; ageYears: number | null; distance: number | null; threshold: number | null; match: boolean | null; casePriority: string | null };
  decision: string | null;
  afterApproval: string;
  panic: { deliveredMs: number | null; acknowledged: boolean; resolved: boolean };
}

/** The ID-document photo and the selfie: one person cropped from a sample photo; the selfie rescaled, rotated, re-encoded. */
async function documentAndSelfie(): Promise<{ document: Buffer; selfie: Buffer }> {
  const require = createRequire(import.meta.url);
  const photo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample2.jpg');
  const crop = await sharp(photo).extract({ left: 1300, top: 0, width: 620, height: 1000 }).jpeg({ quality: 90 }).toBuffer();
  const selfie = await sharp(crop).rotate(4, { background: '#000' }).resize({ width: 420 }).webp({ quality: 80 }).toBuffer();
  return { document: crop, selfie };
}

/** The next publish event matching `pred` (or null after `ms`). */
function nextEvent(events: EventEmitter, pred: (e: PublishEvent) => boolean, ms: number): Promise<PublishEvent | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { events.off('publish', on); resolve(null); }, ms);
    const on = (e: PublishEvent) => { if (pred(e)) { clearTimeout(timer); events.off('publish', on); resolve(e); } };
    events.on('publish', on);
  });
}

/** Opens a moderator's alert stream; `next(id)` resolves with the time the alert's `raised` event arrived. */
async function alertStream(httpUrl: string, token: string) {
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/api/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  const reader = res.body!.getReader();
  const seen = new Map<string, number>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => { ready = r; });
  void (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^event: ready$/m.test(block)) ready();
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (/^event: alert$/m.test(block) && data) {
          const e = JSON.parse(data) as { type: string; alert: { id: string } };
          if (e.type === 'raised' && !seen.has(e.alert.id)) seen.set(e.alert.id, Date.now());
        }
      }
    }
  })();
  await isReady;
  return {
    async arrival(id: string, ms = 5000): Promise<number | null> {
      const deadline = Date.now() + ms;
      while (!seen.has(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return seen.get(id) ?? null;
    },
    close() { abort.abort(); },
  };
}

/**
 * Runs the segment against a running Warden. @param video the demo stream file; @param rtmpBase `rtmp://host:port/live`.
 * @throws Error when the API refuses something the segment needs (the printed lines say what happened until then).
 */
export async function runDemoGates(db: Db, httpUrl: string, password: string, events: EventEmitter, video: string, rtmpBase: string, out: (l: string) => void): Promise<DemoGates> {
  const handle = `demo-newcomer-${randomBytes(3).toString('hex')}`;
  const performer = await seedPerformer(db, handle, { verified: false });
  const session = await seedSession(db, handle, 'performer');
  const bearer = { authorization: `Bearer ${session.token}` };

  const tryPublish = async () => {
    const verdict = nextEvent(events, (e) => e.type !== 'ended', 15_000);
    const pub = publishRtmp(video, `${rtmpBase}/${performer.streamKey}`);
    const e = await verdict;
    return { e, pub, label: e ? (e.type === 'refused' ? `refused (${e.reason})` : e.type) : 'no verdict' };
  };
  const first = await tryPublish();
  await first.pub.stop();
  out(`  gates: ${handle} publishes before verifying: ${first.label}`);

  const { document, selfie } = await documentAndSelfie();
  const form = new FormData();
  form.set('dateOfBirth', '1995-04-12');
  form.set('document', new Blob([new Uint8Array(document)], { type: 'image/jpeg' }), 'passport.jpg');
  form.set('selfie', new Blob([new Uint8Array(selfie)], { type: 'image/webp' }), 'selfie.webp');
  const submitted = await fetch(`${httpUrl}/api/verification`, { method: 'POST', headers: bearer, body: form });
  const v = await submitted.json() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const match = v.checks?.match as { distance: number; threshold: number; same: boolean } | undefined;
  const verification = {
    status: submitted.status, ageYears: v.checks?.ageYears ?? null, distance: match?.distance ?? null, threshold: match?.threshold ?? null,
    match: match?.same ?? null, casePriority: (v.priority as string | undefined) ?? null,
  };
  out(`  gates: verification submitted (${submitted.status}): age ${verification.ageYears} on the day, document/selfie face distance ${verification.distance?.toFixed(3)} against ${verification.threshold} → ${verification.match ? 'same person' : 'NOT the same person'}; images stored encrypted; a [${verification.casePriority}] case opened`);
  if (submitted.status !== 201) throw new Error(`verification refused: ${JSON.stringify(v)}`);

  const mod = await signIn(httpUrl, DEMO_ACCOUNTS[0]!.email, password);
  const queue = await mod.call('GET', '/api/cases?perPage=50&status=open');
  const kase = (queue.body?.data ?? []).find((c: { subjectType: string; subjectId: string }) => c.subjectType === 'verification' && c.subjectId === v.id);
  let decision: string | null = null;
  if (kase) {
    await mod.call('POST', `/api/cases/${kase.id}/claim`);
    const shown = await mod.call('GET', `/api/cases/${kase.id}`);
    // the moderator looks at both images side by side, as the console shows them (each view is audited)
    const urls = [shown.body?.verification?.documentUrl, shown.body?.verification?.selfieUrl].filter(Boolean) as string[];
    const viewed = (await Promise.all(urls.map((u) => mod.fetch(u)))).filter((r) => r.status === 200 && /no-store/.test(r.headers.get('cache-control') ?? '')).length;
    const d = await mod.call('POST', `/api/cases/${kase.id}/decision`, { action: 'approve', reasonCode: 'verification_approved', note: 'demo: document and selfie match' });
    decision = d.status === 200 ? 'approve' : `refused (${d.status} ${d.body?.error?.message ?? ''})`;
    out(`  gates: ${DEMO_ACCOUNTS[0]!.handle} opens the [${kase.priority}] verification case (${viewed} of 2 images viewed decrypted, never cached, each view audited) and approves it: ${decision}`);
  } else {
    out('  gates: no verification case found in the queue');
  }

  const second = await tryPublish();
  out(`  gates: ${handle} publishes after approval: ${second.label}`);
  const panic = { deliveredMs: null as number | null, acknowledged: false, resolved: false };
  if (second.e?.type === 'accepted') {
    const stream = await alertStream(httpUrl, (await seedSession(db, `demo-oncall-${randomBytes(3).toString('hex')}`, 'moderator')).token);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // a moment live
      const pressed = Date.now();
      const res = await fetch(`${httpUrl}/api/alerts/panic`, {
        method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ protection: 'freeze_chat', message: 'demo: someone is at my door' }),
      });
      const { alert } = await res.json() as { alert: { id: string } };
      const at = await stream.arrival(alert.id);
      panic.deliveredMs = at === null ? null : at - pressed;
      panic.acknowledged = (await mod.call('POST', `/api/alerts/${alert.id}/ack`)).status === 200;
      panic.resolved = (await mod.call('POST', `/api/alerts/${alert.id}/resolve`, { resolution: 'demo: called the performer; all is well' })).status === 200;
      out(`  gates: the live performer presses panic (chat frozen): a moderator's alert stream has it ${panic.deliveredMs ?? '(not within 5 s)'} ms later; acknowledged ${panic.acknowledged ? 'yes' : 'no'}, resolved ${panic.resolved ? 'yes' : 'no'} (both audited)`);
    } finally {
      stream.close();
    }
  }
  await second.pub.stop();
  return { beforeApproval: first.label, verification, decision, afterApproval: second.label, panic };
}
