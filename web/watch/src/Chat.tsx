/**
 * The chat beside the player: the room's messages (a polite live region), a composer, and the verdicts the
 * server gives the sender shown with their message: blocked (which rule, in words), held for review, refused
 * (slow mode, too fast, repeated…), a timeout or other restriction until a time, and support resources. Other
 * people's messages can be reported from their menu.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, Box, Button, IconButton, Menu, MenuItem, Paper, Stack, TextField, Typography } from '@mui/material';
import MoreVertIcon from '@mui/icons-material/MoreVert';
import { t, type MessageKey } from '../../common/i18n.ts';
import { useChat, type ChatEntry } from './chat-socket.ts';
import type { ReportSubject } from './types.ts';

const time = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** A category in words (watch.chat.categories), or the code itself when there is no text for it. */
function categoryText(code: string): string {
  const key = `watch.chat.categories.${code}` as MessageKey;
  const s = t(key);
  return s === key ? code.replace(/_/g, ' ') : s;
}

/** What a block's rules say in words: `platform rule: <category>` → the category; a room term as the server put it. */
function blockReasons(e: Extract<ChatEntry, { kind: 'blocked' }>): string {
  const fromRules = e.rules.map((r) => {
    const m = /^platform rule: (\w+)$/.exec(r);
    return m ? categoryText(m[1]!) : r.startsWith('room term') ? t('watch.chat.categories.room_term') : r;
  });
  const reasons = [...new Set(fromRules.length ? fromRules : e.categories.map(categoryText))];
  return reasons.join('; ');
}

function refusedText(e: Extract<ChatEntry, { kind: 'refused' }>): string {
  const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 0) / 1000));
  const key = `watch.chat.refused.${e.code}` as MessageKey;
  const s = t(key, { seconds });
  return s === key ? t('watch.chat.refused.unavailable') : s;
}

function Line({ e, onReport }: { e: ChatEntry; onReport: (s: ReportSubject) => void }) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  switch (e.kind) {
    case 'message':
      return (
        <Box component="li" data-testid="chat-message" data-id={e.id} data-own={e.own} sx={{ display: 'flex', alignItems: 'flex-start', gap: 0.5, py: 0.25 }}>
          <Typography component="p" sx={{ flex: 1, wordBreak: 'break-word' }}>
            <Box component="span" sx={{ fontWeight: 700, mr: 0.75 }}>{e.own ? `${e.user} (${t('watch.chat.you')})` : e.user}</Box>
            {e.text}
          </Typography>
          {!e.own && (
            <>
              <IconButton size="small" aria-label={t('watch.chat.messageActions', { user: e.user })} aria-haspopup="menu"
                onClick={(ev) => setAnchor(ev.currentTarget)} data-testid="chat-message-menu">
                <MoreVertIcon fontSize="small" />
              </IconButton>
              <Menu anchorEl={anchor} open={!!anchor} onClose={() => setAnchor(null)}>
                <MenuItem data-testid="report-message" onClick={() => { setAnchor(null); onReport({ type: 'message', id: e.id, text: e.text, user: e.user }); }}>
                  {t('watch.chat.reportMessage')}
                </MenuItem>
              </Menu>
            </>
          )}
        </Box>
      );
    case 'pending':
      return (
        <Box component="li" sx={{ py: 0.25, opacity: 0.8 }}>
          <Typography component="p">{e.text} <Box component="span" sx={{ fontStyle: 'italic' }}>({t('watch.chat.pending')})</Box></Typography>
        </Box>
      );
    case 'blocked':
      return (
        <Box component="li" sx={{ py: 0.5 }}>
          <Alert severity="error" data-testid="chat-blocked" data-rules={e.rules.join(',')}>
            <Typography component="p" sx={{ textDecoration: 'line-through', wordBreak: 'break-word' }}>{e.text}</Typography>
            <Typography component="p">{t('watch.chat.blocked', { reasons: blockReasons(e) })}</Typography>
            {e.rules.length > 0 && <Typography component="p" variant="body2">{t('watch.chat.blockedRules', { rules: e.rules.join(', ') })}</Typography>}
          </Alert>
        </Box>
      );
    case 'held':
      return (
        <Box component="li" sx={{ py: 0.5 }}>
          <Alert severity="info" data-testid="chat-held">
            <Typography component="p" sx={{ wordBreak: 'break-word' }}>{e.text}</Typography>
            <Typography component="p">{t('watch.chat.held')}</Typography>
          </Alert>
        </Box>
      );
    case 'refused':
      return (
        <Box component="li" sx={{ py: 0.5 }}>
          <Alert severity="warning" data-testid="chat-refused" data-code={e.code}>
            {e.text && <Typography component="p" sx={{ wordBreak: 'break-word' }}>{e.text}</Typography>}
            <Typography component="p">{refusedText(e)}</Typography>
          </Alert>
        </Box>
      );
    case 'support':
      return (
        <Box component="li" sx={{ py: 0.5 }}>
          <Alert severity="info" data-testid="chat-support"><strong>{t('watch.chat.support')}:</strong> {e.text}</Alert>
        </Box>
      );
  }
}

export function Chat({ broadcastId, myHandle, onReport }: { broadcastId: string; myHandle: string; onReport: (s: ReportSubject) => void }) {
  const { entries, status, hello, restriction, send } = useChat(broadcastId, myHandle);
  const [text, setText] = useState('');
  const [now, setNow] = useState(Date.now());
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [entries.length]);
  useEffect(() => {
    if (!restriction?.until) return;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [restriction]);

  const restricted = restriction && (!restriction.until || Date.parse(restriction.until) > now) ? restriction : null;
  const canPost = status === 'open' && !!hello?.canPost && !restricted;
  const maxLength = hello?.maxLength ?? 500;

  function submit(ev: FormEvent) {
    ev.preventDefault();
    const v = text.trim();
    if (!v || !canPost) return;
    if (send(v)) setText('');
  }

  return (
    <Paper component="section" aria-labelledby="chat-heading" sx={{ display: 'flex', flexDirection: 'column', height: { xs: 420, md: '100%' }, minHeight: 0, p: 1.5 }}>
      <Typography id="chat-heading" component="h2" variant="h6">{t('watch.chat.heading')}</Typography>
      {status !== 'open' && (
        <Typography variant="body2" color="text.secondary" data-testid="chat-status">
          {status === 'connecting' ? t('watch.chat.connecting') : t('watch.chat.reconnecting')}
        </Typography>
      )}
      <Box ref={listRef} role="log" aria-label={t('watch.chat.log')} aria-live="polite" tabIndex={0} data-testid="chat-log"
        sx={{ flex: 1, minHeight: 0, overflowY: 'auto', my: 1 }}>
        {entries.length === 0 && <Typography color="text.secondary">{t('watch.chat.empty')}</Typography>}
        <Box component="ul" sx={{ listStyle: 'none', m: 0, p: 0 }}>
          {entries.map((e) => <Line key={e.key} e={e} onReport={onReport} />)}
        </Box>
      </Box>
      {restricted && (
        <Alert severity="warning" data-testid="chat-restricted" sx={{ mb: 1 }}>
          {restricted.kind === 'timeout' && restricted.until
            ? t('watch.chat.timedOut', { time: time(restricted.until) })
            : restricted.until ? t('watch.chat.restrictedUntil', { time: time(restricted.until), reason: restricted.reason }) : t('watch.chat.restricted', { reason: restricted.reason })}
        </Alert>
      )}
      {hello && !hello.canPost && <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>{t('watch.chat.readOnly')}</Typography>}
      <Box component="form" onSubmit={submit}>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'flex-start' }}>
          <TextField label={t('watch.chat.composer')} placeholder={t('watch.chat.placeholder')} size="small" fullWidth value={text}
            onChange={(e) => setText(e.target.value.slice(0, maxLength))} disabled={!canPost} autoComplete="off"
            helperText={text.length > maxLength - 50 ? t('watch.chat.charsLeft', { n: maxLength - text.length }) : undefined}
            slotProps={{ htmlInput: { maxLength, 'data-testid': 'chat-input' } }} />
          <Button type="submit" variant="contained" disabled={!canPost || !text.trim()} data-testid="chat-send">{t('watch.chat.send')}</Button>
        </Stack>
      </Box>
    </Paper>
  );
}
