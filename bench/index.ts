/**
 * `npm run bench`: this machine's figures, measured in one run.
 *   frames: frame-analyzer throughput per core for each backend side by side (onnxruntime with the compiled model,
 *           tfjs-node when installed, wasm) with the ratio to wasm, and the whole machine (one process per core)
 *   tap:    CPU seconds per minute of a 720p30 stream, keyframes-only against decoding every frame (ratio)
 *   text:   chat verdict latency (p50, p99) and messages per second per core, next to obscenity alone
 *   chat:   fan-out p50/p99 from send to receipt for 1,000 viewers on loopback
 *   audio:  transcription real-time factor, live audio streams per core, WER on the LibriVox reference clips
 *   review: hash-chained audit appends per second (vs plain inserts), queue listing and decision latency
 *   gates:  face/age frames per second per core (with and without faces, at FACE_EVERY_N); panic press to moderator
 *           SSE p50/p99 while 20 RTMP streams are analysed (target p99 < 200 ms); ban on node A to the publish cut
 *           on node B, a second warden process, p50/p99 (target p99 < 1 s)
 * Prints readable lines, then one JSON line with every figure.
 */
import os from 'node:os';
import { benchFrameBackends } from './frame-backends.ts';
import { benchTap } from './tap.ts';
import { benchText } from './text.ts';
import { benchChat } from './chat.ts';
import { benchAudio } from './audio.ts';
import { benchReview } from './review.ts';
import { benchGates, gatesFigures } from './gates.ts';

const started = Date.now();
console.log(`warden bench on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
console.log('\n== frame analyzer (nsfwjs MobileNetV2) ==');
const frameBackends = await benchFrameBackends({ seconds: 3 });
const fastest = frameBackends.backends.reduce((a, b) => (b.frame640BatchedFps > a.frame640BatchedFps ? b : a));
console.log('\n== stream tap (720p30 H.264, one sample per 2 s) ==');
const tap = await benchTap({});
console.log('\n== text check (chat verdicts) ==');
const text = await benchText();
console.log('\n== chat fan-out (1,000 viewers on loopback) ==');
const chat = await benchChat({});
console.log('\n== transcription (PocketSphinx) ==');
const audio = await benchAudio();
console.log('\n== review (audit chain, queue, decisions on Postgres) ==');
const review = await benchReview();
console.log('\n== trust gates (faces, panic alerts under load, bans across nodes) ==');
const gates = await benchGates();
console.log('\n== summary ==');
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
// the headline is the tap's real input: 640x360 JPEG frames (decode + resize + model)
for (const b of frameBackends.backends) console.log(`frames  ${b.backend.padEnd(12)} 640x360 frames: ${b.frame640BatchedFps.toFixed(1)} fps/core (${b.msPerFrame} ms/frame), ${b.ratioToWasm.toFixed(2)}x wasm; model alone ${b.modelOnlyFps.toFixed(1)} fps/core, ${b.modelRatioToWasm.toFixed(2)}x wasm`);
console.log(`frames  the machine: ${frameBackends.machine.fps.toFixed(0)} frames/s with ${frameBackends.machine.processes} processes on ${fastest.backend} (targets: the model ≥6x wasm per core: ${met(fastest.modelRatioToWasm >= 6)}; ≥100 frames/s: ${met(frameBackends.machine.fps >= 100)})`);
console.log(`tap     keyframes-only ${tap.keyframesCpuSPerMin.toFixed(2)} CPU s/min  every frame ${tap.allFramesCpuSPerMin.toFixed(2)} CPU s/min  ratio ${tap.ratio.toFixed(1)}x`);
console.log(`text    p50 ${text.p50Us.toFixed(0)} µs, p99 ${text.p99Us.toFixed(0)} µs, ${Math.round(text.msgsPerSecPerCore)} msgs/s/core; obscenity alone p99 ${text.obscenityAlone.p99Us.toFixed(0)} µs, ${Math.round(text.obscenityAlone.msgsPerSec)} msgs/s (cost ratio ${text.ratio.toFixed(2)})`);
console.log(`chat    fan-out to ${chat.viewers} viewers: p50 ${chat.p50Ms} ms, p99 ${chat.p99Ms} ms`);
console.log(`review  audit ${review.auditAppendsPerS.serial} appends/s serial, ${review.auditAppendsPerS.concurrent8}/s with 8 writers (chain costs ${review.auditAppendsPerS.chainCostRatio}x a plain insert); queue p50 ${review.queueListMs.p50} ms over ${review.queueListMs.cases} cases; decision p50 ${review.decisionMs.p50} ms`);
console.log(`panic   press → moderator SSE under ${gates.panic.streams} analysed streams: p50 ${gates.panic.deliveryMs.p50} ms, p99 ${gates.panic.deliveryMs.p99} ms, max ${gates.panic.deliveryMs.max} ms (n=${gates.panic.deliveryMs.n}); target p99 < ${gates.panic.targetP99Ms} ms: ${met(gates.panic.deliveryMs.p99 < gates.panic.targetP99Ms && gates.panic.missed === 0)}; ${gates.panic.analysedDuringAlerts.frames} frames analysed meanwhile`);
console.log(`ban     node A → publish cut on node B: p50 ${gates.ban.disconnectMs.p50} ms, p99 ${gates.ban.disconnectMs.p99} ms, max ${gates.ban.disconnectMs.max} ms (n=${gates.ban.disconnectMs.n}); target p99 < ${gates.ban.targetP99Ms} ms: ${met(gates.ban.disconnectMs.p99 < gates.ban.targetP99Ms && gates.ban.notDisconnected === 0)}`);
console.log(`faces   ${gates.faces.width}x${gates.faces.height}: ${gates.faces.withFaces.fpsPerCore} fps/core with faces (${gates.faces.withFaces.facesPerFrame}/frame), ${gates.faces.withoutFaces.fpsPerCore} fps/core without (cascade ${gates.faces.cascadeRatio}x); at FACE_EVERY_N=${gates.faces.faceEveryN}: ${gates.faces.effective.withFaces.samplesPerCoreS} samples/s/core with faces (≈ ${gates.faces.effective.withFaces.streamsPerCore} streams/core)`);
console.log(`audio   real-time factor ${audio.realTimeFactor} (≈ ${audio.streamsPerCore} streams/core), WER ${(audio.wer * 100).toFixed(1)}%`);
console.log(JSON.stringify({
  cores: os.cpus().length,
  frames: { backends: frameBackends.backends, machine: frameBackends.machine, wasmDetail: { frames640: frameBackends.wasmDetail.frames640, modelOnly: frameBackends.wasmDetail.modelOnly } },
  tap: { keyframesCpuSPerMin: tap.keyframesCpuSPerMin, allFramesCpuSPerMin: tap.allFramesCpuSPerMin, ratio: tap.ratio },
  text,
  chat,
  audio,
  review,
  gates: gatesFigures(gates),
  elapsedS: Math.round((Date.now() - started) / 1000),
}));
