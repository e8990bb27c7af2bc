/**
 * My room: blocked viewers (block by handle, unblock), trusted-users-only chat and the trusted list, slow mode, and
 * the blocked-terms list with the action each term takes.
 */
import { useCallback, useEffect, useState } from 'react';
import { Alert, Box, Button, FormControl, FormControlLabel, IconButton, InputLabel, List, ListItem, ListItemText, MenuItem, Select, Stack, Switch, TextField, Typography } from '@mui/material';
import DeleteOutline from '@mui/icons-material/DeleteOutlined';
import { api } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { Section } from '../Section.tsx';
import { errorText, when } from '../format.ts';
import type { Block, Room, RoomSettings, Trusted } from '../types.ts';

type TermAction = 'flag' | 'hold' | 'block';

/** A one-field form: a handle and a button. */
function HandleForm({ label, button, onSubmit, testId }: { label: string; button: string; onSubmit(handle: string): Promise<void>; testId: string }) {
  const [handle, setHandle] = useState('');
  return (
    <Box component="form" onSubmit={(e: React.FormEvent) => { e.preventDefault(); if (handle.trim()) void onSubmit(handle.trim()).then(() => setHandle('')).catch(() => undefined); }}>
      <Stack direction="row" spacing={1} sx={{ alignItems: 'flex-start' }}>
        <TextField label={label} value={handle} onChange={(e) => setHandle(e.target.value)} size="small" slotProps={{ htmlInput: { 'data-testid': `${testId}-handle`, autoCapitalize: 'none', spellCheck: false } }} />
        <Button type="submit" variant="contained" data-testid={`${testId}-submit`}>{button}</Button>
      </Stack>
    </Box>
  );
}

export function RoomPage({ onSettings }: { onSettings(s: RoomSettings): void }) {
  const [room, setRoom] = useState<Room | null>(null);
  const [blocks, setBlocks] = useState<Block[]>([]);
  const [trusted, setTrusted] = useState<Trusted[]>([]);
  const [slow, setSlow] = useState('0');
  const [term, setTerm] = useState('');
  const [action, setAction] = useState<TermAction>('block');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const load = useCallback(async () => {
    const [r, b, tr] = await Promise.all([api<Room>('/rooms/me'), api<Block[]>('/rooms/me/blocks'), api<Trusted[]>('/rooms/me/trusted')]);
    setRoom(r);
    setSlow(String(r.slowModeS));
    setBlocks(b);
    setTrusted(tr);
    onSettings(r);
  }, [onSettings]);
  useEffect(() => { void load().catch((err) => setMessage({ ok: false, text: errorText(err) })); }, [load]);

  /** Runs a change, reloads, and says how it went. */
  const run = async (fn: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await fn();
      await load();
      setMessage({ ok: true, text: t('studio.room.saved') });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
      throw err;
    }
  };
  const quiet = (fn: () => Promise<unknown>) => run(fn).catch(() => undefined);
  const saveSettings = (change: Partial<RoomSettings>) => quiet(() => api('/rooms/me/settings', { method: 'PUT', body: change }));

  return (
    <>
      <Box role="status" aria-live="polite">{message && <Alert severity={message.ok ? 'success' : 'error'} sx={{ mb: 2 }} data-testid="room-message">{message.text}</Alert>}</Box>
      <Section title={t('studio.room.blocksHeading')} testId="blocks-section">
        <Typography variant="body2" sx={{ mb: 1 }}>{t('studio.room.blocksHelp')}</Typography>
        <HandleForm label={t('studio.room.blockHandle')} button={t('studio.room.block')} testId="block" onSubmit={(h) => run(() => api('/rooms/me/blocks', { method: 'POST', body: { handle: h } }))} />
        {blocks.length === 0 ? <Typography sx={{ mt: 1 }}>{t('studio.room.noBlocks')}</Typography> : (
          <List>
            {blocks.map((b) => (
              <ListItem key={b.userId} divider data-testid="block-row" data-handle={b.handle}
                secondaryAction={<IconButton edge="end" aria-label={t('studio.room.unblock', { handle: b.handle })} onClick={() => void quiet(() => api(`/rooms/me/blocks/${b.userId}`, { method: 'DELETE' }))}><DeleteOutline /></IconButton>}>
                <ListItemText primary={`@${b.handle}`} secondary={t('studio.room.blockedOn', { time: when(b.createdAt) })} />
              </ListItem>
            ))}
          </List>
        )}
      </Section>
      <Section title={t('studio.room.trustedHeading')} testId="trusted-section">
        {room && (
          <FormControlLabel sx={{ mb: 1 }}
            control={<Switch checked={room.trustedOnly} onChange={(e) => void saveSettings({ trustedOnly: e.target.checked })} slotProps={{ input: { 'data-testid': 'trusted-only' } as React.InputHTMLAttributes<HTMLInputElement> }} />}
            label={t('studio.room.trustedOnly')} />
        )}
        <Typography variant="body2" sx={{ mb: 1 }}>{t('studio.room.trustedOnlyHelp')}</Typography>
        <HandleForm label={t('studio.room.trustHandle')} button={t('studio.room.trust')} testId="trust" onSubmit={(h) => run(() => api('/rooms/me/trusted', { method: 'POST', body: { handle: h } }))} />
        {trusted.length === 0 ? <Typography sx={{ mt: 1 }}>{t('studio.room.noTrusted')}</Typography> : (
          <List>
            {trusted.map((u) => (
              <ListItem key={u.userId} divider data-testid="trusted-row"
                secondaryAction={<IconButton edge="end" aria-label={t('studio.room.untrust', { handle: u.handle })} onClick={() => void quiet(() => api(`/rooms/me/trusted/${u.userId}`, { method: 'DELETE' }))}><DeleteOutline /></IconButton>}>
                <ListItemText primary={`@${u.handle}`} />
              </ListItem>
            ))}
          </List>
        )}
      </Section>
      <Section title={t('studio.room.slowMode')} testId="slow-section">
        <Box component="form" onSubmit={(e: React.FormEvent) => { e.preventDefault(); void saveSettings({ slowModeS: Math.max(0, Math.min(3600, Math.round(Number(slow) || 0))) }); }}>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'flex-start' }}>
            <TextField label={t('studio.room.slowMode')} type="number" size="small" value={slow} onChange={(e) => setSlow(e.target.value)} helperText={t('studio.room.slowModeHelp')} slotProps={{ htmlInput: { min: 0, max: 3600, 'data-testid': 'slow-mode' } }} />
            <Button type="submit" variant="contained">{t('studio.room.save')}</Button>
          </Stack>
        </Box>
      </Section>
      <Section title={t('studio.room.termsHeading')} testId="terms-section">
        <Typography variant="body2" sx={{ mb: 1 }}>{t('studio.room.termsHelp')}</Typography>
        <Box component="form" onSubmit={(e: React.FormEvent) => { e.preventDefault(); if (term.trim()) void quiet(() => api('/rooms/me/terms', { method: 'POST', body: { term: term.trim(), action } })).then(() => setTerm('')); }}>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ alignItems: { sm: 'flex-start' } }}>
            <TextField label={t('studio.room.term')} size="small" value={term} onChange={(e) => setTerm(e.target.value)} slotProps={{ htmlInput: { maxLength: 100, 'data-testid': 'term' } }} />
            <FormControl size="small" sx={{ minWidth: 180 }}>
              <InputLabel id="term-action-label">{t('studio.room.action')}</InputLabel>
              <Select labelId="term-action-label" label={t('studio.room.action')} value={action} onChange={(e) => setAction(e.target.value as TermAction)}>
                {(['flag', 'hold', 'block'] as const).map((a) => <MenuItem key={a} value={a}>{t(`studio.room.actions.${a}`)}</MenuItem>)}
              </Select>
            </FormControl>
            <Button type="submit" variant="contained">{t('studio.room.addTerm')}</Button>
          </Stack>
        </Box>
        {room && room.terms.length === 0 && <Typography sx={{ mt: 1 }}>{t('studio.room.noTerms')}</Typography>}
        <List>
          {room?.terms.map((x) => (
            <ListItem key={x.id} divider
              secondaryAction={<IconButton edge="end" aria-label={t('studio.room.removeTerm', { term: x.term })} onClick={() => void quiet(() => api(`/rooms/me/terms/${x.id}`, { method: 'DELETE' }))}><DeleteOutline /></IconButton>}>
              <ListItemText primary={x.term} secondary={t(`studio.room.actions.${x.action}`)} />
            </ListItem>
          ))}
        </List>
      </Section>
    </>
  );
}
