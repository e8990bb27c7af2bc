/**
 * Panic alerts, above everything: one EventSource on `GET /api/alerts/stream` per tab, the unresolved alerts
 * loaded on start, and a fixed banner over the whole console for every alert still open (a chime that repeats
 * every few seconds until someone acknowledges), with Acknowledge and Resolve. Acknowledged alerts stay listed
 * (quietly) until resolved.
 */
import { useCallback, useEffect, useState } from 'react';
import { Alert, Box, Button, Portal, Stack, TextField } from '@mui/material';
import { useNotify } from 'react-admin';
import { api, errorMessage } from './api';
import { chime, useNow } from './live';

interface PanicAlert {
  id: string; handle: string; broadcastId: string | null; protection: string; message: string | null;
  status: 'open' | 'acknowledged' | 'resolved'; raisedAt: string; escalations: number;
  acknowledgedBy: { id: string; handle: string } | null;
}
interface AlertEvent { type: 'raised' | 'escalated' | 'acknowledged' | 'resolved'; alert: PanicAlert; at: number }

const PROTECTION_TEXT: Record<string, string> = { none: 'no protection asked', freeze_chat: 'chat frozen', hide_stream: 'stream hidden from viewers', end_broadcast: 'broadcast ended' };

/** The alert banners (mounted once, in the signed-in layout). */
export function PanicAlerts() {
  const [alerts, setAlerts] = useState<Map<string, PanicAlert>>(new Map());
  const notify = useNotify();
  const now = useNow();
  const upsert = useCallback((a: PanicAlert) => setAlerts((m) => {
    const next = new Map(m);
    if (a.status === 'resolved') next.delete(a.id); else next.set(a.id, a);
    return next;
  }), []);

  useEffect(() => {
    let stopped = false;
    void api<PanicAlert[]>('/alerts', { query: { status: 'unresolved' } }).then((list) => { if (!stopped) list.forEach(upsert); }).catch(() => undefined);
    const source = new EventSource('/api/alerts/stream');
    source.addEventListener('alert', (msg) => {
      let e: AlertEvent;
      try { e = JSON.parse((msg as MessageEvent<string>).data) as AlertEvent; } catch { return; }
      upsert(e.alert);
      if (e.type === 'raised' || e.type === 'escalated') chime();
    });
    return () => { stopped = true; source.close(); };
  }, [upsert]);

  const open = [...alerts.values()].filter((a) => a.status === 'open');
  // keep sounding while anything is unacknowledged
  useEffect(() => {
    if (open.length === 0) return;
    const t = setInterval(chime, 5000);
    return () => clearInterval(t);
  }, [open.length]);

  const act = async (a: PanicAlert, what: 'ack' | 'resolve', resolution?: string) => {
    try {
      upsert(await api<PanicAlert>(`/alerts/${a.id}/${what}`, { method: 'POST', body: what === 'resolve' ? { resolution } : {} }));
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
    }
  };

  if (alerts.size === 0) return null;
  // a portal on <body>: above the app bar, dialogs and everything else, whatever the page's stacking contexts
  return (
    <Portal>
    <Box data-testid="panic-alerts" sx={{ position: 'fixed', top: 8, left: 0, right: 0, mx: 'auto', zIndex: 2000, width: 'min(760px, 96vw)' }}>
      <Stack spacing={1}>
        {[...alerts.values()].map((a) => (
          <PanicBanner key={a.id} alert={a} ageS={Math.max(0, Math.round((now - Date.parse(a.raisedAt)) / 1000))}
            onAck={() => void act(a, 'ack')} onResolve={(r) => void act(a, 'resolve', r)} />
        ))}
      </Stack>
    </Box>
    </Portal>
  );
}

function PanicBanner({ alert: a, ageS, onAck, onResolve }: { alert: PanicAlert; ageS: number; onAck(): void; onResolve(resolution: string): void }) {
  const [resolution, setResolution] = useState('');
  const open = a.status === 'open';
  return (
    <Alert severity="error" variant={open ? 'filled' : 'standard'} data-testid="panic-alert" data-alert-id={a.id} data-status={a.status}
      sx={{ boxShadow: 6, alignItems: 'center' }}
      action={open
        ? <Button color="inherit" variant="outlined" onClick={onAck} data-testid="panic-ack">Acknowledge</Button>
        : <Stack direction="row" spacing={1} sx={{ alignItems: "center" }}>
            <TextField size="small" placeholder="What was done" value={resolution} onChange={(e) => setResolution(e.target.value)} slotProps={{ htmlInput: { 'data-testid': 'panic-resolution' } }} />
            <Button color="inherit" disabled={!resolution.trim()} onClick={() => onResolve(resolution.trim())} data-testid="panic-resolve">Resolve</Button>
          </Stack>}>
      <strong>PANIC</strong> from @{a.handle} · {ageS} s ago · {PROTECTION_TEXT[a.protection] ?? a.protection}
      {a.escalations > 0 && <> · escalated {a.escalations}×</>}
      {a.message && <> · “{a.message}”</>}
      {a.acknowledgedBy && <> · acknowledged by @{a.acknowledgedBy.handle}</>}
    </Alert>
  );
}
