/**
 * One broadcast: the player with its captions button, report buttons (the stream; its performer), and the chat
 * beside it (below it on a phone). The broadcast is looked up in the live list; one that is not there still
 * gets a player, which shows the play API's answer (not live, hidden…).
 */
import { useEffect, useState } from 'react';
import { Box, Button, Link, Stack, Typography } from '@mui/material';
import FlagIcon from '@mui/icons-material/OutlinedFlag';
import { api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import { Player } from './Player.tsx';
import { Chat } from './Chat.tsx';
import type { LiveBroadcast, Me, ReportSubject } from './types.ts';

export function WatchPage({ broadcastId, me, known, onReport, onBack }: {
  broadcastId: string; me: Me; known?: LiveBroadcast; onReport: (s: ReportSubject) => void; onBack: () => void;
}) {
  const [broadcast, setBroadcast] = useState<LiveBroadcast | undefined>(known?.id === broadcastId ? known : undefined);
  useEffect(() => {
    if (known?.id === broadcastId) { setBroadcast(known); return; }
    // not in the list (ended, hidden, unknown): the player still asks, and shows the play API's answer
    const unlisted: LiveBroadcast = { id: broadcastId, performer: { id: '', handle: '' }, startedAt: new Date().toISOString() };
    api<LiveBroadcast[]>('/live').then((list) => setBroadcast(list.find((b) => b.id === broadcastId) ?? unlisted), () => setBroadcast(unlisted));
  }, [broadcastId, known]);

  if (broadcast?.id !== broadcastId) return <Typography>{t('common.loading')}</Typography>;
  const b = broadcast;
  return (
    <Box sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: 'minmax(0, 1fr)', md: 'minmax(0, 1fr) 360px' }, alignItems: 'stretch' }}>
      <Box component="section" aria-labelledby="watch-heading" sx={{ minWidth: 0 }}>
        <Typography id="watch-heading" component="h1" variant="h5" sx={{ mb: 1 }}>{b.performer.handle || t('watch.title')}</Typography>
        <Player broadcast={b} />
        <Stack direction="row" spacing={1} useFlexGap sx={{ mt: 1, flexWrap: 'wrap' }}>
          <Button variant="outlined" color="error" startIcon={<FlagIcon />} onClick={() => onReport({ type: 'broadcast', id: b.id })} data-testid="report-stream">
            {t('watch.report.stream')}
          </Button>
          {b.performer.id && (
            <Button variant="outlined" color="error" startIcon={<FlagIcon />} onClick={() => onReport({ type: 'user', id: b.performer.id, handle: b.performer.handle })} data-testid="report-performer">
              {t('watch.report.performer', { handle: b.performer.handle })}
            </Button>
          )}
        </Stack>
        <Link component="button" type="button" onClick={onBack} sx={{ mt: 2, display: 'inline-block' }}>{t('watch.player.backToList')}</Link>
      </Box>
      <Box sx={{ minWidth: 0, minHeight: { md: 480 } }}>
        <Chat broadcastId={b.id} myHandle={me.handle} onReport={onReport} />
      </Box>
    </Box>
  );
}
