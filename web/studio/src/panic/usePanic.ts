/**
 * The performer's panic alert as the studio tracks it: the newest unresolved alert (loaded on start), pressing
 * (`POST /api/alerts/panic` with the room's chosen protection), and every change from the performer's own alert
 * stream (`GET /api/alerts/mine/stream`: acknowledged with the moderator's handle, escalated, resolved).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../../common/api.ts';
import type { AlertEvent, AlertView, Protection } from '../types.ts';
import { errorText } from '../format.ts';

export type PanicPhase = 'idle' | 'sending' | 'alerted' | 'failed';

export interface PanicState {
  phase: PanicPhase;
  alert: AlertView | null;
  /** When the press was sent (ms since the epoch), shown at once. */
  pressedAt: number | null;
  /** When a moderator acknowledged it (ms since the epoch), or null. */
  acknowledgedAt: number | null;
  error: string | null;
  press(protection: Protection, broadcastId: string | null): Promise<void>;
  /** Forgets a resolved alert (the status panel closes). */
  dismiss(): void;
}

export function usePanic(enabled: boolean): PanicState {
  const [phase, setPhase] = useState<PanicPhase>('idle');
  const [alert, setAlert] = useState<AlertView | null>(null);
  const [pressedAt, setPressedAt] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [acknowledgedAt, setAcknowledgedAt] = useState<number | null>(null);
  const current = useRef<string | null>(null);

  const adopt = useCallback((a: AlertView) => {
    current.current = a.id;
    setAlert(a);
    setPhase('alerted');
  }, []);

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    void api<AlertView[]>('/alerts/mine').then((list) => {
      const open = list.find((a) => a.status !== 'resolved') as (AlertView & { acknowledgedAt?: string | null }) | undefined;
      if (!stopped && open && !current.current) {
        adopt(open);
        setPressedAt(Date.parse(open.raisedAt));
        if (open.acknowledgedAt) setAcknowledgedAt(Date.parse(open.acknowledgedAt));
      }
    }).catch(() => undefined);
    const source = new EventSource('/api/alerts/mine/stream');
    source.addEventListener('alert', (msg) => {
      let e: AlertEvent;
      try { e = JSON.parse((msg as MessageEvent<string>).data) as AlertEvent; } catch { return; }
      // the alert on screen, or a new one (pressed on another device or the chat socket)
      if (e.alert.id === current.current || (e.type === 'raised' && e.alert.status !== 'resolved')) {
        if (e.alert.id !== current.current) { setPressedAt(Date.parse(e.alert.raisedAt)); setAcknowledgedAt(null); }
        if (e.type === 'acknowledged') setAcknowledgedAt(e.at);
        adopt(e.alert);
      }
    });
    return () => { stopped = true; source.close(); };
  }, [enabled, adopt]);

  const press = useCallback(async (protection: Protection, broadcastId: string | null) => {
    setPhase('sending');
    setError(null);
    setPressedAt(Date.now());
    setAcknowledgedAt(null);
    try {
      const r = await api<{ alert: AlertView; stored: boolean }>('/alerts/panic', { method: 'POST', body: { protection, broadcastId } });
      // the stream may already have told us more (an acknowledgement); keep the furthest state
      setAlert((prev) => (prev && prev.id === r.alert.id ? prev : r.alert));
      current.current = r.alert.id;
      setPhase('alerted');
    } catch (err) {
      setError(errorText(err));
      setPhase('failed');
    }
  }, []);

  const dismiss = useCallback(() => {
    current.current = null;
    setAlert(null);
    setPhase('idle');
    setPressedAt(null);
    setAcknowledgedAt(null);
  }, []);

  return { phase, alert, pressedAt, acknowledgedAt, error, press, dismiss };
}
