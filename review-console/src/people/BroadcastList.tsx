/**
 * Broadcasts: live ones as cards with their latest analysed frame (blurred until revealed), how long they have
 * been live and their open cases, each with an "End stream" button (reason code, confirmed); ended ones as a
 * list. Refreshes every 5 s while live.
 */
import { useState } from 'react';
import { Link } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Title, useGetList, useNotify } from 'react-admin';
import { Box, Button, Card, CardContent, Chip, LinearProgress, ToggleButton, ToggleButtonGroup, Typography } from '@mui/material';
import { errorMessage } from '../api';
import { ago, clock, humanize, useWarden, when } from '../hooks';
import { useNow } from '../live';
import { ActionDialog, BlurredImage } from '../ui';
import type { Broadcast } from '../types';

/** The broadcasts page (resource `broadcasts`). */
export function BroadcastList() {
  const [status, setStatus] = useState<'live' | 'ended'>('live');
  const [page, setPage] = useState(1);
  const perPage = status === 'live' ? 60 : 30;
  const { data = [], total = 0, isPending, isFetching } = useGetList<Broadcast>('broadcasts', { pagination: { page, perPage }, filter: { status } },
    { refetchInterval: status === 'live' ? 5000 : false, placeholderData: (prev) => prev });
  const [ending, setEnding] = useState<Broadcast | null>(null);
  const dp = useWarden();
  const notify = useNotify();
  const queryClient = useQueryClient();
  const pages = Math.max(1, Math.ceil(total / perPage));

  const end = async (v: { reasonCode: string; note: string }) => {
    if (!ending) return;
    try {
      await dp.endBroadcast(ending.id, { reasonCode: v.reasonCode, note: v.note || undefined });
      notify(`Ended @${ending.user.handle}'s stream.`, { type: 'success' });
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
      throw err;
    } finally {
      await queryClient.invalidateQueries({ queryKey: ['broadcasts'] });
    }
  };

  return (
    <Box sx={{ mt: 1 }}>
      <Title title="Broadcasts" />
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 1 }}>
        <ToggleButtonGroup size="small" exclusive value={status} onChange={(_, v) => { if (v) { setStatus(v); setPage(1); } }}>
          <ToggleButton value="live" data-testid="broadcasts-live">Live</ToggleButton>
          <ToggleButton value="ended" data-testid="broadcasts-ended">Ended</ToggleButton>
        </ToggleButtonGroup>
        <Typography variant="body2" color="text.secondary">{total} {status}{status === 'live' ? ' now · frames stay blurred until you click them' : ''}</Typography>
        <Box sx={{ flex: 1 }} />
        {pages > 1 && <>
          <Button disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</Button>
          <Typography variant="caption">page {page} of {pages}</Typography>
          <Button disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</Button>
        </>}
      </Box>
      {(isPending || isFetching) && <LinearProgress sx={{ height: 2, mb: 0.5 }} />}
      {!isPending && data.length === 0 && <Typography color="text.secondary" sx={{ p: 2 }}>No {status} broadcasts.</Typography>}
      <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(200px, 1fr))', gap: 1 }}>
        {data.map((b) => <BroadcastCard key={b.id} b={b} onEnd={() => setEnding(b)} />)}
      </Box>
      <ActionDialog open={!!ending} testId="end-stream-dialog" title={ending ? `End @${ending.user.handle}'s stream?` : ''}
        description="The publisher is disconnected within a second. This is recorded as a decided case with a statement of reasons."
        confirmLabel="End stream" danger chooseReason onConfirm={end} onClose={() => setEnding(null)} />
    </Box>
  );
}

function BroadcastCard({ b, onEnd }: { b: Broadcast; onEnd: () => void }) {
  const now = useNow();
  const live = b.status === 'live';
  const duration = ((b.endedAt ? new Date(b.endedAt).getTime() : now) - new Date(b.startedAt).getTime()) / 1000;
  return (
    <Card data-testid="broadcast-card" data-broadcast-id={b.id} data-status={b.status}>
      {b.latestFrame
        ? <BlurredImage src={b.latestFrame.imageUrl} alt={`latest frame of @${b.user.handle}`} height={120} testId="broadcast-thumbnail" />
        : <Box sx={{ height: 120, bgcolor: 'action.hover', display: 'flex', alignItems: 'center', justifyContent: 'center' }}><Typography variant="caption" color="text.secondary">no frame yet</Typography></Box>}
      <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 0.5 }}>
        <Box sx={{ display: 'flex', alignItems: 'center', gap: 0.75 }}>
          {live && <Box sx={{ width: 8, height: 8, borderRadius: '50%', bgcolor: 'error.main' }} />}
          <Typography variant="body2" sx={{ fontWeight: 600 }} noWrap><Link to={`/users/${b.user.id}/show`}>@{b.user.handle}</Link></Typography>
          <Box sx={{ flex: 1 }} />
          <Typography variant="caption" sx={{ fontFamily: 'ui-monospace, monospace' }}>{clock(duration)}</Typography>
        </Box>
        <Typography variant="caption" color="text.secondary" noWrap>
          {live ? `started ${ago(b.startedAt, now)}${b.viewers !== null ? ` · ${b.viewers} watching` : ''}` : `ended ${when(b.endedAt)}${b.endReason ? ` · ${humanize(b.endReason)}` : ''}`}
          {b.latestFrame ? ` · frame ${ago(b.latestFrame.capturedAt, now)}` : ''}
        </Typography>
        {(b.continuesId || b.continuedById) && (
          <Typography variant="caption" color="text.secondary" noWrap data-testid="broadcast-link"
            title={b.continuesId ? `continues broadcast ${b.continuesId}, which this publisher left on another ingest node` : `continued as broadcast ${b.continuedById} after the publisher reconnected`}>
            {b.continuesId ? '↩ resumed after a reconnect' : '↪ resumed on another node'}
          </Typography>
        )}
        <Box sx={{ display: 'flex', alignItems: 'center', gap: 0.5 }}>
          <Chip size="small" label={`${b.openCases} open case${b.openCases === 1 ? '' : 's'}`} color={b.openCases ? 'warning' : 'default'} variant={b.openCases ? 'filled' : 'outlined'} data-testid="open-cases" />
          <Box sx={{ flex: 1 }} />
          {live && <Button color="error" variant="outlined" onClick={onEnd} data-testid="end-stream">End stream</Button>}
        </Box>
      </CardContent>
    </Card>
  );
}
