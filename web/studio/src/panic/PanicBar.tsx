/**
 * The bottom bar that holds the panic button while the performer is live, and the alert's status as soon as it
 * is pressed: sent, acknowledged (by whom, when), escalated, resolved. The status is a live region, so a screen
 * reader announces each change.
 */
import { Alert, Box, Button, Stack } from '@mui/material';
import { t } from '../../../common/i18n.ts';
import { clock } from '../format.ts';
import type { Protection } from '../types.ts';
import { PanicButton } from './PanicButton.tsx';
import type { PanicState } from './usePanic.ts';

/** Background of the status per phase or alert status (white text on each passes WCAG AA). */
const STATE_COLOURS: Record<string, string> = {
  sending: '#92400e', failed: '#b91c1c', open: '#92400e', acknowledged: '#1d4ed8', resolved: '#166534', idle: '#92400e',
};

export function PanicBar({ live, panic, protection, broadcastId }: { live: boolean; panic: PanicState; protection: Protection; broadcastId: string | null }) {
  const a = panic.alert;
  const showStatus = panic.phase !== 'idle';
  if (!live && !showStatus) return null;
  const protectionText = a ? t(`studio.panic.protections.${(a.protection in { none: 1, freeze_chat: 1, hide_stream: 1, end_broadcast: 1 } ? a.protection : 'none') as Protection}`) : null;
  return (
    <Box component="aside" aria-label={t('studio.panic.statusLabel')} data-testid="panic-bar"
      sx={{ position: 'fixed', left: 0, right: 0, bottom: 0, zIndex: 1400, p: 1, bgcolor: 'background.paper', borderTop: 1, borderColor: 'divider', boxShadow: 8 }}>
      <Stack spacing={1} sx={{ alignItems: 'center', maxWidth: 960, mx: 'auto' }}>
        <Box role="status" aria-live="assertive" aria-atomic="true" sx={{ width: '100%', maxWidth: 560 }}>
          {showStatus && (
            <Alert data-testid="panic-status" data-phase={panic.phase} data-status={a?.status ?? ''}
              severity={panic.phase === 'failed' ? 'error' : a?.status === 'resolved' ? 'success' : a?.status === 'acknowledged' ? 'info' : 'warning'}
              variant="filled"
              action={a?.status === 'resolved' ? <Button color="inherit" size="small" onClick={panic.dismiss}>{t('studio.panic.dismiss')}</Button> : undefined}
              // colours fixed here for 4.5:1 white-on-colour contrast in every state (MUI's filled info and success are lighter)
              sx={{ fontSize: 16, color: '#ffffff', bgcolor: STATE_COLOURS[panic.phase === 'alerted' ? a?.status ?? 'open' : panic.phase], '& .MuiAlert-icon': { color: '#ffffff' }, '& .MuiAlert-message': { width: '100%' } }}>
              {panic.phase === 'sending' && <strong>{t('studio.panic.sending')}</strong>}
              {panic.phase === 'failed' && t('studio.panic.failed', { message: panic.error ?? '' })}
              {panic.phase === 'alerted' && a && (
                <>
                  <strong data-testid="panic-alerted">{t('studio.panic.alerted')}</strong>
                  <Box component="span" sx={{ display: 'block' }}>{t('studio.panic.alertedAt', { time: clock(panic.pressedAt ?? a.raisedAt) })}</Box>
                  {protectionText && a.protection !== 'none' && <Box component="span" sx={{ display: 'block' }}>{t('studio.panic.applied', { protection: protectionText })}</Box>}
                  {a.status === 'open' && a.escalations > 0 && <Box component="span" sx={{ display: 'block' }}>{t('studio.panic.escalated', { count: a.escalations })}</Box>}
                  {a.acknowledgedBy && (
                    <Box component="span" data-testid="panic-acknowledged" sx={{ display: 'block', fontWeight: 700 }}>
                      {a.status === 'resolved' ? t('studio.panic.acknowledged', { handle: a.acknowledgedBy.handle }) : t('studio.panic.acknowledgedAt', { handle: a.acknowledgedBy.handle, time: clock(panic.acknowledgedAt ?? Date.now()) })}
                    </Box>
                  )}
                  {a.status === 'resolved' && a.resolvedBy && <Box component="span" data-testid="panic-resolved" sx={{ display: 'block', fontWeight: 700 }}>{t('studio.panic.resolved', { handle: a.resolvedBy.handle })}</Box>}
                </>
              )}
            </Alert>
          )}
        </Box>
        {live && <PanicButton onFire={() => void panic.press(protection, broadcastId)} disabled={panic.phase === 'sending'} />}
      </Stack>
    </Box>
  );
}
