/**
 * Stream keys: create one (shown once, with a copy button and a clear warning), rotate (a new key, the old one
 * revoked), revoke; the RTMP URL and encoder settings beside them.
 */
import { useCallback, useEffect, useState } from 'react';
import { Alert, Box, Button, Chip, Dialog, DialogActions, DialogContent, DialogContentText, List, ListItem, ListItemText, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { CopyButton } from '../CopyButton.tsx';
import { Section } from '../Section.tsx';
import { EncoderInfo } from './EncoderInfo.tsx';
import { errorText, when } from '../format.ts';
import type { LiveStatus, StreamKey } from '../types.ts';

interface NewKey { id: string; key: string; prefix: string }

export function KeysPage({ live }: { live: LiveStatus | null }) {
  const [keys, setKeys] = useState<StreamKey[] | null>(null);
  const [label, setLabel] = useState('');
  const [fresh, setFresh] = useState<NewKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ key: StreamKey; what: 'rotate' | 'revoke' } | null>(null);
  const load = useCallback(() => api<StreamKey[]>('/keys').then(setKeys).catch((err) => setError(errorText(err))), []);
  useEffect(() => { void load(); }, [load]);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setFresh(await api<NewKey>('/keys', { method: 'POST', body: { label: label.trim() || null } }));
      setLabel('');
      await load();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 403 ? `${t('studio.keys.needsVerification')} (${err.message})` : errorText(err));
    }
  };
  const act = async () => {
    if (!confirm) return;
    const { key, what } = confirm;
    setConfirm(null);
    setError(null);
    try {
      const r = await api<NewKey | { endedBroadcastId: string | null }>(`/keys/${key.id}/${what}`, { method: 'POST', body: {} });
      if ('key' in r) setFresh(r);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <>
      <Section title={t('studio.keys.heading')} testId="keys-section">
        <Typography sx={{ mb: 2 }}>{t('studio.keys.intro')}</Typography>
        {fresh && (
          <Alert severity="warning" data-testid="new-key" sx={{ mb: 2, '& .MuiAlert-message': { width: '100%' } }}>
            <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{t('studio.keys.newKeyHeading')}</Typography>
            <Typography sx={{ fontWeight: 700, mb: 1 }}>{t('studio.keys.onceWarning')}</Typography>
            <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
              <TextField label={t('studio.keys.keyField')} value={fresh.key} fullWidth
                slotProps={{ htmlInput: { readOnly: true, 'data-testid': 'new-key-value', spellCheck: false, onFocus: (e: React.FocusEvent<HTMLInputElement>) => e.target.select() }, input: { sx: { fontFamily: 'monospace' } } }} />
              <CopyButton text={fresh.key} label={t('studio.keys.copy')} testId="copy-key" />
            </Stack>
            <Button sx={{ mt: 1 }} variant="contained" onClick={() => setFresh(null)} data-testid="key-saved">{t('studio.keys.saved')}</Button>
          </Alert>
        )}
        <Box component="form" onSubmit={create} sx={{ mb: 2 }}>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ alignItems: { sm: 'flex-start' } }}>
            <TextField label={t('studio.keys.label')} value={label} onChange={(e) => setLabel(e.target.value)} helperText={t('studio.keys.labelHelp')} slotProps={{ htmlInput: { maxLength: 60 } }} />
            <Button type="submit" variant="contained" data-testid="create-key">{t('studio.keys.create')}</Button>
          </Stack>
        </Box>
        {error && <Alert severity="error" role="alert" sx={{ mb: 2 }} data-testid="keys-error">{error}</Alert>}
        <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{t('studio.keys.listHeading')}</Typography>
        {keys && keys.length === 0 && <Typography>{t('studio.keys.none')}</Typography>}
        <List>
          {keys?.map((k) => (
            <ListItem key={k.id} divider data-testid="key-row" data-prefix={k.prefix} sx={{ flexWrap: 'wrap', gap: 1 }}>
              <ListItemText
                primary={<><Box component="span" sx={{ fontFamily: 'monospace' }}>{t('studio.keys.prefix', { prefix: k.prefix })}</Box>{k.label ? ` · ${k.label}` : ''}</>}
                secondary={k.revokedAt ? t('studio.keys.revokedOn', { time: when(k.revokedAt) }) : t('studio.keys.created', { time: when(k.createdAt) })} />
              {k.liveBroadcastId && <Chip label={t('studio.keys.liveOn')} color="error" />}
              {!k.revokedAt && (
                <Stack direction="row" spacing={1}>
                  <Button variant="outlined" onClick={() => setConfirm({ key: k, what: 'rotate' })}>{t('studio.keys.rotate')}</Button>
                  <Button variant="outlined" color="error" onClick={() => setConfirm({ key: k, what: 'revoke' })}>{t('studio.keys.revoke')}</Button>
                </Stack>
              )}
            </ListItem>
          ))}
        </List>
      </Section>
      <Section title={t('studio.live.ingestHeading')}>
        <EncoderInfo live={live} />
      </Section>
      <Dialog open={confirm !== null} onClose={() => setConfirm(null)} aria-describedby="key-confirm-text">
        <DialogContent>
          <DialogContentText id="key-confirm-text">
            {confirm && t(confirm.what === 'rotate' ? 'studio.keys.rotateConfirm' : 'studio.keys.revokeConfirm', { prefix: confirm.key.prefix })}
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirm(null)}>{t('studio.keys.cancel')}</Button>
          <Button color="error" variant="contained" onClick={() => void act()}>{t('studio.keys.confirm')}</Button>
        </DialogActions>
      </Dialog>
    </>
  );
}
