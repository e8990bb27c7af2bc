/** Who is live now (`GET /api/live`), refreshed every 15 s; each links to its watch page. No thumbnails (see the API). */
import { useEffect, useState } from 'react';
import { Alert, Box, Button, Card, CardActionArea, CardContent, Typography } from '@mui/material';
import { ApiError, api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import type { LiveBroadcast } from './types.ts';

export function LiveList({ onOpen }: { onOpen: (b: LiveBroadcast) => void }) {
  const [list, setList] = useState<LiveBroadcast[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<LiveBroadcast[]>('/live').then((l) => { setList(l); setError(null); }, (err: ApiError) => setError(err.status === 0 ? t('common.networkError') : err.message));
  useEffect(() => {
    void load();
    const id = setInterval(() => void load(), 15_000);
    return () => clearInterval(id);
  }, []);

  return (
    <Box component="section" aria-labelledby="live-heading">
      <Box sx={{ display: 'flex', alignItems: 'center', justifyContent: 'space-between', mb: 2 }}>
        <Typography id="live-heading" component="h1" variant="h4">{t('watch.list.heading')}</Typography>
        <Button onClick={() => void load()}>{t('watch.list.refresh')}</Button>
      </Box>
      {error && <Alert severity="error" sx={{ mb: 2 }}>{error}</Alert>}
      {list?.length === 0 && <Alert severity="info">{t('watch.list.empty')}</Alert>}
      <Box component="ul" sx={{ listStyle: 'none', p: 0, m: 0, display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', sm: 'repeat(2, 1fr)', md: 'repeat(3, 1fr)' } }}>
        {list?.map((b) => (
          <Box component="li" key={b.id}>
            <Card variant="outlined">
              <CardActionArea component="a" href={`/watch/${b.id}`} data-testid="live-item" aria-label={t('watch.list.watch', { handle: b.performer.handle })}
                onClick={(e: React.MouseEvent) => { if (e.metaKey || e.ctrlKey || e.shiftKey) return; e.preventDefault(); onOpen(b); }}>
                <CardContent>
                  <Typography component="h2" variant="h6">{b.performer.handle}</Typography>
                  <Typography color="text.secondary">{t('watch.list.since', { time: new Date(b.startedAt).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) })}</Typography>
                </CardContent>
              </CardActionArea>
            </Card>
          </Box>
        ))}
      </Box>
    </Box>
  );
}
