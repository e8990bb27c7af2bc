/**
 * Decision buttons for the decisions the API allows on a case, each with its key; a key or a click opens the
 * confirm dialog with the reason code preselected (the case's suggested code; `no_violation` to dismiss or
 * overturn), so a ban is `b` then `Enter`. A decision starts the undo window (see review.tsx). A verification case
 * is decided with approve (`a`, reason `verification_approved`) or reject (`j`, a rejection reason to choose).
 */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNotify } from 'react-admin';
import { Box, Button, Typography } from '@mui/material';
import { errorMessage } from '../api';
import { useWarden } from '../hooks';
import { useReview } from '../review';
import { Kbd, useShortcuts } from '../shortcuts';
import { ActionDialog, type ActionValues } from '../ui';
import type { CaseDetail } from '../types';

interface DecisionMeta { label: string; key: string; color: 'inherit' | 'primary' | 'warning' | 'error' | 'success'; hours?: number; what: (who: string) => string }

/** Every decision: its label, key, colour, default hours and what it does, in words. */
export const DECISIONS: Record<string, DecisionMeta> = {
  dismiss: { label: 'Dismiss', key: 'd', color: 'success', what: () => 'No violation: the case closes with no action.' },
  warn: { label: 'Warn', key: 'w', color: 'primary', what: (who) => `${who} gets a warning and a statement of reasons.` },
  remove: { label: 'Remove', key: 'm', color: 'primary', what: () => 'The content is removed.' },
  timeout: { label: 'Timeout', key: 't', color: 'warning', hours: 1, what: (who) => `${who} cannot chat for the hours below.` },
  end_stream: { label: 'End stream', key: 'e', color: 'error', what: () => 'The live broadcast is cut within a second.' },
  suspend: { label: 'Suspend', key: 's', color: 'error', hours: 24 * 7, what: (who) => `${who} cannot broadcast or chat for the hours below; a live stream ends now.` },
  ban: { label: 'Ban', key: 'b', color: 'error', what: (who) => `${who} is banned platform-wide: a live stream ends within a second and chat is blocked.` },
  uphold: { label: 'Uphold', key: 'h', color: 'primary', what: () => 'The original decision stands.' },
  overturn: { label: 'Overturn', key: 'o', color: 'warning', what: () => 'The original decision is reversed: restrictions lifted, strike and statement withdrawn.' },
  approve: { label: 'Approve', key: 'a', color: 'success', what: (who) => `${who} is verified as an adult and may broadcast until the approval expires.` },
  reject: { label: 'Reject', key: 'j', color: 'error', what: (who) => `${who} is not verified and cannot broadcast; they get a statement of reasons and may appeal or submit again.` },
};

const NO_VIOLATION = new Set(['dismiss', 'overturn']);

/** The decision buttons and dialog of a case. */
export function DecisionPanel({ detail, enabled }: { detail: CaseDetail; enabled: boolean }) {
  const dp = useWarden();
  const notify = useNotify();
  const queryClient = useQueryClient();
  const { decided } = useReview();
  const [action, setAction] = useState<string | null>(null);
  const allowed = detail.allowedDecisions.filter((a) => DECISIONS[a]);
  const who = detail.user ? `@${detail.user.handle}` : 'The user';

  useShortcuts(Object.fromEntries(allowed.map((a) => [DECISIONS[a]!.key, () => setAction(a)])), enabled && allowed.length > 0);

  const confirm = async (v: ActionValues) => {
    if (!action) return;
    try {
      const r = await dp.decide(detail.id, { action, reasonCode: v.reasonCode, note: v.note || undefined, durationHours: v.hours });
      decided(detail.id, action, detail.user?.handle ?? null, r);
      await queryClient.invalidateQueries({ queryKey: ['cases'] });
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
      await queryClient.invalidateQueries({ queryKey: ['cases'] });
      throw err;
    }
  };

  const meta = action ? DECISIONS[action] : undefined;
  const suggested = detail.suggestedReasonCode ?? detail.reasonCode ?? null;
  const defaultReason = action && NO_VIOLATION.has(action) ? 'no_violation'
    : action === 'approve' ? 'verification_approved'
      : action === 'reject' ? (suggested === 'verification_approved' ? null : suggested)
        : suggested;

  if (detail.status === 'resolved') {
    return (
      <Box data-testid="decision-panel" data-state="decided">
        <Typography variant="body2">
          Decided: <b>{DECISIONS[detail.decision ?? '']?.label ?? detail.decision}</b>{detail.reasonCode ? ` · ${detail.reasonCode}` : ''}
          {detail.decidedBy ? ` by @${detail.decidedBy.handle}` : ''}{detail.resolvedAt ? ` at ${new Date(detail.resolvedAt).toLocaleTimeString()}` : ''}
        </Typography>
        {detail.decisionNote && <Typography variant="caption" color="text.secondary">“{detail.decisionNote}”</Typography>}
      </Box>
    );
  }

  return (
    <Box data-testid="decision-panel" data-state="open">
      {allowed.length === 0
        ? <Typography variant="body2" color="text.secondary">You cannot decide this case{detail.subjectType === 'appeal' ? ' (appeals go to a senior moderator who did not take the original decision)' : ''}.</Typography>
        : (
          <Box sx={{ display: 'flex', flexWrap: 'wrap', gap: 0.75 }}>
            {allowed.map((a) => {
              const m = DECISIONS[a]!;
              return (
                <Button key={a} variant={m.color === 'error' ? 'contained' : 'outlined'} color={m.color} onClick={() => setAction(a)} data-testid={`decide-${a}`}
                  sx={{ minWidth: 0, px: 1.25, py: 0.5 }}>
                  {m.label}&nbsp;<Box component="span" sx={{ opacity: 0.75, fontSize: '0.7rem', fontFamily: 'ui-monospace, monospace' }}>{m.key}</Box>
                </Button>
              );
            })}
          </Box>
        )}
      <ActionDialog
        open={!!action}
        testId="decision-dialog"
        title={meta ? `${meta.label}${detail.user ? ` @${detail.user.handle}` : ''}?` : ''}
        description={meta ? <>{meta.what(who)} You can undo it for a few seconds with <Kbd>u</Kbd>.</> : undefined}
        confirmLabel={meta?.label ?? 'Confirm'}
        danger={meta?.color === 'error'}
        defaultReason={defaultReason}
        chooseReason={action === 'reject' && !defaultReason}
        hours={meta?.hours}
        onConfirm={confirm}
        onClose={() => setAction(null)}
      />
    </Box>
  );
}
