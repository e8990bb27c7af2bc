/** Prometheus metrics (prom-client), one registry per process, passed in rather than global. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Samples taken by the tap, by kind and status (queued for analysis, duplicate). */
  samples: Counter<'kind' | 'status'>;
  /** Signal rows written, by analyzer and backend. */
  signals: Counter<'analyzer' | 'backend'>;
  /** Samples whose analysis failed, by analyzer. */
  analysisFailures: Counter<'analyzer'>;
  /** Cases opened, by rule and priority. */
  casesOpened: Counter<'reason' | 'priority'>;
  /** Actions recorded by enforcement, by type and whether shadow. */
  actions: Counter<'action' | 'shadow'>;
  /** Publish attempts, by result (accepted, refused). */
  publishes: Counter<'result'>;
  /** Seconds from a sample's capture to its signals being written. */
  analysisLatency: Histogram<'analyzer'>;
  /** Jobs waiting or running, per queue (read when scraped). */
  queueDepth: Gauge<'queue'>;
  /** Broadcasts live on this ingest node. */
  liveBroadcasts: Gauge;
  /** 1 for the frame classifier's backend in this process's analyzers (`onnxruntime`, `tfjs-node`, `wasm`). */
  frameBackend: Gauge<'backend'>;
  /** Jobs waiting to be taken per queue (not active, delayed or finished; read when scraped). */
  queueWaiting: Gauge<'queue'>;
  /** Seconds the oldest waiting job of each queue has waited (0 when none waits; read when scraped). */
  queueOldestWaiting: Gauge<'queue'>;
  /** Live broadcasts of this ingest node by their effective frame sampling interval in seconds (read when scraped). */
  samplingStreams: Gauge<'interval_s'>;
  /** This ingest node's sampling stretch (1: every broadcast at SAMPLE_INTERVAL_S) and the broadcasts whose speech is transcribed. */
  samplingStretch: Gauge;
  audioTranscribedStreams: Gauge;
  /** Samples deliberately not analysed, by kind and reason (sampling stretched, audio backlog, stale, ingest behind). */
  samplesShed: Counter<'kind' | 'reason'>;
  /** Ingest writes (sample rows and jobs, broadcast ends) waiting for Postgres or Redis (read when scraped). */
  ingestWritesPending: Gauge;
  /** Ingest writes given up: `full` (a broadcast's buffer overflowed during an outage) or `failed` (refused 3 times). */
  ingestWritesDropped: Counter<'why'>;
  /** Workers the watchdog recreated because they were stuck, by queue. */
  workersRecreated: Counter<'queue'>;
  /** What retention deleted, by kind: `samples`, `sample_files`, `chat_messages`, `sessions` (moderation/retention.ts). */
  retentionDeleted: Counter<'kind'>;
  /** Read on each scrape; set by whoever owns the queues and the ingest node. */
  sources: {
    queueDepth?: () => Promise<Record<string, number>>; liveBroadcasts?: () => number;
    queueBacklog?: () => Promise<Record<string, { waiting: number; oldestAgeMs: number }>>;
    /** Effective sampling interval (ms) of each live broadcast, the stretch, and the broadcasts whose audio is transcribed. */
    sampling?: () => { intervalsMs: number[]; stretch: number; audioStreams: number };
    ingestWritesPending?: () => number;
  };
}

/** Creates the metrics of one process. Gauges fed by `sources` are read when scraped. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const sources: Metrics['sources'] = {};
  collectDefaultMetrics({ register: registry, prefix: 'warden_process_' });
  const r = [registry];
  // one backlog reading serves both backlog gauges of a scrape
  let backlogRead: { at: number; p: Promise<Record<string, { waiting: number; oldestAgeMs: number }> | null> } | undefined;
  const readBacklog = () => {
    if (!sources.queueBacklog) return Promise.resolve(null);
    if (!backlogRead || Date.now() - backlogRead.at > 500) backlogRead = { at: Date.now(), p: sources.queueBacklog().catch(() => null) };
    return backlogRead.p;
  };
  return {
    registry,
    samples: new Counter({ name: 'warden_samples_total', help: 'Samples taken from broadcasts', labelNames: ['kind', 'status'], registers: r }),
    signals: new Counter({ name: 'warden_signals_total', help: 'Signal rows written', labelNames: ['analyzer', 'backend'], registers: r }),
    analysisFailures: new Counter({ name: 'warden_analysis_failures_total', help: 'Samples whose analysis failed', labelNames: ['analyzer'], registers: r }),
    casesOpened: new Counter({ name: 'warden_cases_opened_total', help: 'Review cases opened', labelNames: ['reason', 'priority'], registers: r }),
    actions: new Counter({ name: 'warden_actions_total', help: 'Actions recorded by enforcement', labelNames: ['action', 'shadow'], registers: r }),
    publishes: new Counter({ name: 'warden_publishes_total', help: 'Publish attempts by result', labelNames: ['result'], registers: r }),
    analysisLatency: new Histogram({
      name: 'warden_analysis_latency_seconds', help: 'Seconds from sample capture to its signals', labelNames: ['analyzer'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: r,
    }),
    queueDepth: new Gauge({
      name: 'warden_queue_depth', help: 'Jobs waiting, delayed or active per queue', labelNames: ['queue'], registers: r,
      async collect() {
        if (!sources.queueDepth) return;
        for (const [q, n] of Object.entries(await sources.queueDepth())) this.set({ queue: q }, n);
      },
    }),
    liveBroadcasts: new Gauge({
      name: 'warden_live_broadcasts', help: 'Broadcasts live on this ingest node', registers: r,
      collect() { if (sources.liveBroadcasts) this.set(sources.liveBroadcasts()); },
    }),
    queueWaiting: new Gauge({
      name: 'warden_queue_waiting', help: 'Jobs waiting to be taken per queue', labelNames: ['queue'], registers: r,
      async collect() {
        const backlog = await readBacklog();
        if (backlog) for (const [q, b] of Object.entries(backlog)) this.set({ queue: q }, b.waiting);
      },
    }),
    queueOldestWaiting: new Gauge({
      name: 'warden_queue_oldest_waiting_seconds', help: 'Seconds the oldest waiting job of each queue has waited', labelNames: ['queue'], registers: r,
      async collect() {
        const backlog = await readBacklog();
        if (backlog) for (const [q, b] of Object.entries(backlog)) this.set({ queue: q }, b.oldestAgeMs / 1000);
      },
    }),
    samplingStreams: new Gauge({
      name: 'warden_sampling_streams', help: 'Live broadcasts on this ingest node by effective frame sampling interval (seconds)', labelNames: ['interval_s'], registers: r,
      collect() {
        if (!sources.sampling) return;
        this.reset();
        const counts = new Map<string, number>();
        for (const ms of sources.sampling().intervalsMs) {
          const k = String(Math.round(ms / 500) / 2); // to the half second
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) this.set({ interval_s: k }, n);
      },
    }),
    samplingStretch: new Gauge({
      name: 'warden_sampling_stretch', help: 'Sampling stretch of this ingest node (1: every broadcast at the base interval)', registers: r,
      collect() { if (sources.sampling) this.set(sources.sampling().stretch); },
    }),
    audioTranscribedStreams: new Gauge({
      name: 'warden_audio_transcribed_streams', help: 'Live broadcasts of this ingest node whose speech is transcribed now (the others\' chunks are shed)', registers: r,
      collect() { if (sources.sampling) this.set(sources.sampling().audioStreams); },
    }),
    samplesShed: new Counter({ name: 'warden_samples_shed_total', help: 'Samples deliberately not analysed, by kind and reason', labelNames: ['kind', 'reason'], registers: r }),
    ingestWritesPending: new Gauge({
      name: 'warden_ingest_writes_pending', help: 'Ingest writes (samples and jobs, broadcast ends) waiting for Postgres or Redis', registers: r,
      collect() { if (sources.ingestWritesPending) this.set(sources.ingestWritesPending()); },
    }),
    ingestWritesDropped: new Counter({ name: 'warden_ingest_writes_dropped_total', help: 'Ingest writes given up (buffer full during an outage, or refused 3 times)', labelNames: ['why'], registers: r }),
    workersRecreated: new Counter({ name: 'warden_workers_recreated_total', help: 'Stuck workers recreated by the watchdog, by queue', labelNames: ['queue'], registers: r }),
    retentionDeleted: new Counter({ name: 'warden_retention_deleted_total', help: 'Rows and files deleted after their retention, by kind', labelNames: ['kind'], registers: r }),
    frameBackend: new Gauge({ name: 'warden_frame_backend', help: 'The frame classifier backend the analyzer workers run (1)', labelNames: ['backend'], registers: r }),
    sources,
  };
}
