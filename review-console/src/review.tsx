/**
 * The review flow that spans pages: "next case" (`n`), the last decision and its undo window (`u`, with a
 * snackbar counting down to `undoUntil`), and the shortcut help (`?`). Mounted once inside the layout.
 */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useNotify } from 'react-admin';
import { Alert, Box, Button, LinearProgress, Snackbar } from '@mui/material';
import { errorMessage } from './api';
import { humanize, useWarden } from './hooks';
import { useNow } from './live';
import { Kbd, ShortcutHelp, useShortcuts } from './shortcuts';
import type { DecisionResult } from './types';

interface LastDecision { caseId: string; action: string; handle: string | null; undoUntil: string; decidedAt: number }

interface ReviewContextValue {
  /** Opens and claims the most urgent unclaimed case the user can take. */
  next(): Promise<void>;
  /** Remembers a decision so it can be undone within its window. */
  decided(caseId: string, action: string, handle: string | null, r: DecisionResult): void;
  /** Undoes the last decision (if still within its window). */
  undo(): Promise<void>;
  last: LastDecision | null;
  showHelp(): void;
}

const ReviewContext = createContext<ReviewContextValue | null>(null);

/** The review flow (see module doc). */
export function useReview(): ReviewContextValue {
  const v = useContext(ReviewContext);
  if (!v) throw new Error('useReview outside ReviewProvider');
  return v;
}

/** Provides the review flow and its global shortcuts (`n`, `u`, `?`). */
export function ReviewProvider({ children }: { children: ReactNode }) {
  const dp = useWarden();
  const navigate = useNavigate();
  const notify = useNotify();
  const queryClient = useQueryClient();
  const [last, setLast] = useState<LastDecision | null>(null);
  const [help, setHelp] = useState(false);
  const [busy, setBusy] = useState(false);

  const next = useCallback(async () => {
    if (busy) return;
    setBusy(true);
    try {
      const c = await dp.nextCase();
      if (!c) notify('The queue is empty: nothing to claim.', { type: 'info' });
      else {
        await queryClient.invalidateQueries({ queryKey: ['cases'] });
        navigate(`/cases/${c.id}`, { state: { claimed: true } });
      }
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
    } finally {
      setBusy(false);
    }
  }, [busy, dp, navigate, notify, queryClient]);

  const decided = useCallback((caseId: string, action: string, handle: string | null, r: DecisionResult) => {
    setLast({ caseId, action, handle, undoUntil: r.undoUntil, decidedAt: Date.now() });
  }, []);

  const undo = useCallback(async () => {
    if (!last) return;
    if (new Date(last.undoUntil).getTime() <= Date.now()) {
      notify('Too late to undo: the undo window has passed.', { type: 'warning' });
      setLast(null);
      return;
    }
    try {
      await dp.undo(last.caseId);
      notify(`Undone: ${humanize(last.action)}${last.handle ? ` on @${last.handle}` : ''}. The case is claimed by you again.`, { type: 'success' });
      setLast(null);
      await queryClient.invalidateQueries({ queryKey: ['cases'] });
      navigate(`/cases/${last.caseId}`);
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
      setLast(null);
    }
  }, [last, dp, notify, queryClient, navigate]);

  useShortcuts({ n: () => void next(), u: () => void undo(), '?': () => setHelp(true) });

  const value = useMemo(() => ({ next, decided, undo, last, showHelp: () => setHelp(true) }), [next, decided, undo, last]);
  return (
    <ReviewContext.Provider value={value}>
      {children}
      {last && <UndoBar last={last} onUndo={undo} onExpire={() => setLast(null)} />}
      <ShortcutHelp open={help} onClose={() => setHelp(false)} />
    </ReviewContext.Provider>
  );
}

/** The undo snackbar: what was decided, a countdown to the end of the undo window, and the Undo button. */
function UndoBar({ last, onUndo, onExpire }: { last: LastDecision; onUndo: () => void; onExpire: () => void }) {
  const now = Math.max(useNow(), Date.now());
  const until = new Date(last.undoUntil).getTime();
  const left = Math.max(0, Math.round((until - now) / 1000));
  const total = Math.max(1, until - last.decidedAt);
  if (until - now <= -1000) queueMicrotask(onExpire);
  return (
    <Snackbar open anchorOrigin={{ vertical: 'bottom', horizontal: 'center' }}>
      <Alert severity="success" variant="filled" data-testid="undo-snackbar" data-seconds-left={left} sx={{ alignItems: 'center', minWidth: 340, pb: 1.25, position: 'relative' }}
        action={left > 0 ? <Button color="inherit" size="small" onClick={onUndo} data-testid="undo-button">Undo <Box component="span" sx={{ ml: 0.75 }}><Kbd>u</Kbd></Box></Button> : undefined}>
        {humanize(last.action)}{last.handle ? ` @${last.handle}` : ''} — {left > 0 ? `undo for ${left} s` : 'final'}
        <LinearProgress variant="determinate" value={Math.min(100, ((until - now) / total) * 100)} color="inherit"
          sx={{ position: 'absolute', left: 0, right: 0, bottom: 0, height: 3, bgcolor: 'transparent' }} />
      </Alert>
    </Snackbar>
  );
}
