/**
 * Live updates: one EventSource on `GET /api/events` per console tab. Every `case` event refreshes what shows
 * cases (react-query keys starting with `cases`, and the dashboard's `stats`), and is passed to subscribers; a
 * new critical case is announced (banner, a short tone, the tab title) so it is not only a silent refresh.
 * Also a shared one-second clock for the SLA countdowns.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useLogout } from 'react-admin';
import { refreshSession } from './api';
import type { CaseEvent } from './types';

export type LiveStatus = 'connecting' | 'live' | 'down';

interface LiveContextValue {
  status: LiveStatus;
  subscribe(fn: (e: CaseEvent) => void): () => void;
  /** The newest critical case not yet acknowledged, if any. */
  critical: CaseEvent | null;
  acknowledge(): void;
}

const LiveContext = createContext<LiveContextValue>({ status: 'down', subscribe: () => () => undefined, critical: null, acknowledge: () => undefined });

/** Plays a short two-tone chime (Web Audio; silently skipped when the browser has not allowed sound yet). */
export function chime(): void {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    if (ctx.state === 'suspended') { void ctx.close(); return; }
    [880, 660].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.18);
      osc.stop(ctx.currentTime + i * 0.18 + 0.17);
    });
    setTimeout(() => void ctx.close(), 800);
  } catch { /* no sound */ }
}

/** Provides the live connection to everything below it (mounted inside the signed-in layout). */
export function LiveProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const logout = useLogout();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [critical, setCritical] = useState<CaseEvent | null>(null);
  const subscribers = useRef(new Set<(e: CaseEvent) => void>());

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let refresh: ReturnType<typeof setTimeout> | undefined;
    let backoff = 2000;
    let stopped = false;

    const invalidate = () => {
      clearTimeout(refresh);
      refresh = setTimeout(() => {
        void queryClient.invalidateQueries({ queryKey: ['cases'] });
        void queryClient.invalidateQueries({ queryKey: ['stats'] });
      }, 200);
    };

    const connect = () => {
      if (stopped) return;
      setStatus('connecting');
      source = new EventSource('/api/events');
      source.addEventListener('open', () => { backoff = 2000; setStatus('live'); });
      source.addEventListener('ready', () => setStatus('live'));
      source.addEventListener('case', (msg) => {
        let e: CaseEvent;
        try { e = JSON.parse((msg as MessageEvent<string>).data) as CaseEvent; } catch { return; }
        invalidate();
        if (e.op === 'insert' && e.priority === 'critical') {
          setCritical(e);
          chime();
        }
        for (const fn of subscribers.current) fn(e);
      });
      source.addEventListener('error', () => {
        if (source?.readyState !== EventSource.CLOSED) { setStatus('connecting'); return; } // the browser retries by itself
        source.close();
        setStatus('down');
        // an HTTP error closes the stream for good: check the session, then reconnect with back-off
        retry = setTimeout(async () => {
          if (!(await refreshSession().catch(() => true))) { void logout(); return; }
          backoff = Math.min(backoff * 2, 60_000);
          connect();
        }, backoff);
      });
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearTimeout(refresh);
      source?.close();
    };
  }, [queryClient, logout]);

  // the tab title carries the alert while it is unacknowledged
  useEffect(() => {
    const base = 'Warden review console';
    if (!critical) { document.title = base; return; }
    let on = false;
    const t = setInterval(() => { on = !on; document.title = on ? '🔴 Critical case' : base; }, 1000);
    return () => { clearInterval(t); document.title = base; };
  }, [critical]);

  const subscribe = useCallback((fn: (e: CaseEvent) => void) => {
    subscribers.current.add(fn);
    return () => { subscribers.current.delete(fn); };
  }, []);
  const acknowledge = useCallback(() => setCritical(null), []);
  const value = useMemo(() => ({ status, subscribe, critical, acknowledge }), [status, subscribe, critical, acknowledge]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

/** The live connection: its status, the unacknowledged critical case, and subscribing to case events. */
export function useLive(): LiveContextValue {
  return useContext(LiveContext);
}

/** Calls `fn` on every case event while the component is mounted. */
export function useCaseEvents(fn: (e: CaseEvent) => void): void {
  const { subscribe } = useLive();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}

// ---- one shared clock for every countdown on the page ----
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribeClock(fn: () => void): () => void {
  listeners.add(fn);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => { now = Date.now(); for (const l of listeners) l(); }, 1000);
    queueMicrotask(fn);
  }
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && timer) { clearInterval(timer); timer = undefined; }
  };
}

/** The current time in ms, re-rendering every second. */
export function useNow(): number {
  return useSyncExternalStore(subscribeClock, () => now);
}
