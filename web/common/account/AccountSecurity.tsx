/**
 * An account's security settings: two-factor sign-in (set up with a QR code and a confirming code:
 * `POST /api/auth/totp/setup` then `/enable`; turned off with a current code: `/disable`, which staff cannot) and
 * the signed-in devices (`GET /api/auth/sessions`) with a sign-out for each (`POST /api/auth/sessions/:id/revoke`).
 * Signing out this device from the list ends the session here too: `onSignedOut` is then called.
 */
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { Alert, Box, Button, List, ListItem, ListItemText, Stack, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../api.ts';
import { t } from '../i18n.ts';
import { CodeField, TotpQr, failureText, type Me, type TotpSetup } from './shared.tsx';

/** A session as `GET /api/auth/sessions` lists it. */
export interface SessionInfo { id: string; createdAt: string; lastSeenAt: string; expiresAt: string; ip: string | null; userAgent: string | null; current: boolean }

const STAFF = new Set<Me['role']>(['moderator', 'senior_moderator', 'admin']);

/** "Firefox on Android" from a user agent (coarse, for recognising one's own devices). */
export function deviceName(ua: string | null): string {
  if (!ua) return t('common.account.sessions.unknownDevice');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return t('common.account.sessions.deviceOn', { browser, os });
  return browser ?? os ?? ua.slice(0, 40);
}

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function TwoFactor({ me, onChange }: { me: Me; onChange(totpEnabled: boolean): void }) {
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [disabling, setDisabling] = useState(false);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const helpId = useId();
  const headingId = useId();
  const staff = STAFF.has(me.role);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try { await fn(); } catch (err) {
      setError(err instanceof ApiError && err.code === 'totp_invalid' ? t('common.account.totp.invalid') : failureText(err));
      setCode('');
    } finally { setBusy(false); }
  };
  const start = () => run(async () => { setSetup(await api<TotpSetup>('/auth/totp/setup', { method: 'POST', body: {} })); setCode(''); });
  const enable = (e: FormEvent) => { e.preventDefault(); void run(async () => {
    await api('/auth/totp/enable', { method: 'POST', body: { code } });
    setSetup(null); setCode(''); setNotice(t('common.account.totp.enabled')); onChange(true);
  }); };
  const disable = (e: FormEvent) => { e.preventDefault(); void run(async () => {
    await api('/auth/totp/disable', { method: 'POST', body: { code } });
    setDisabling(false); setCode(''); setNotice(t('common.account.totp.disabled')); onChange(false);
  }); };
  const cancel = () => { setSetup(null); setDisabling(false); setCode(''); setError(null); };

  return (
    <Box component="section" aria-labelledby={headingId} data-testid="totp-section" data-enabled={String(me.totpEnabled)}>
      <Typography id={headingId} component="h2" variant="h6" gutterBottom>{t('common.account.totp.heading')}</Typography>
      <Stack spacing={2}>
        <Typography>{me.totpEnabled ? t('common.account.totp.on') : t('common.account.totp.off')}</Typography>
        {notice && <Alert severity="success" role="status" data-testid="totp-notice">{notice}</Alert>}
        {error && <Alert severity="error" role="alert" data-testid="totp-error">{error}</Alert>}
        {!me.totpEnabled && !setup && <Button variant="contained" onClick={start} disabled={busy} sx={{ alignSelf: 'flex-start' }} data-testid="totp-start">{t('common.account.totp.setUp')}</Button>}
        {setup && (
          <Box component="form" onSubmit={enable} noValidate>
            <Stack spacing={2}>
              <TotpQr setup={setup} describedById={helpId} />
              <CodeField value={code} onChange={setCode} testId="totp-code" describedBy={helpId} />
              <Stack direction="row" spacing={1}>
                <Button type="submit" variant="contained" disabled={busy || code.length !== 6} data-testid="totp-enable">{t('common.account.totp.enable')}</Button>
                <Button type="button" color="inherit" onClick={cancel}>{t('common.account.totp.cancel')}</Button>
              </Stack>
            </Stack>
          </Box>
        )}
        {me.totpEnabled && staff && <Typography variant="body2" data-testid="totp-staff">{t('common.account.totp.staffKeep')}</Typography>}
        {me.totpEnabled && !staff && !disabling && <Button variant="outlined" color="inherit" onClick={() => { setDisabling(true); setNotice(null); }} sx={{ alignSelf: 'flex-start' }} data-testid="totp-disable-start">{t('common.account.totp.disable')}</Button>}
        {disabling && (
          <Box component="form" onSubmit={disable} noValidate>
            <Stack spacing={2}>
              <Typography variant="body2" id={helpId}>{t('common.account.totp.disableHelp')}</Typography>
              <CodeField value={code} onChange={setCode} testId="totp-code" describedBy={helpId} />
              <Stack direction="row" spacing={1}>
                <Button type="submit" variant="contained" color="error" disabled={busy || code.length !== 6} data-testid="totp-disable">{t('common.account.totp.disable')}</Button>
                <Button type="button" color="inherit" onClick={cancel}>{t('common.account.totp.cancel')}</Button>
              </Stack>
            </Stack>
          </Box>
        )}
      </Stack>
    </Box>
  );
}

function Sessions({ onSignedOut }: { onSignedOut?(): void }) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const headingId = useId();

  const load = useCallback(() => {
    api<SessionInfo[]>('/auth/sessions').then((s) => { setSessions(s); setError(null); }, (err) => setError(err instanceof ApiError && err.status ? failureText(err) : t('common.account.sessions.loadFailed')));
  }, []);
  useEffect(load, [load]);

  const revoke = async (s: SessionInfo) => {
    setError(null);
    setNotice(null);
    try {
      await api(`/auth/sessions/${s.id}/revoke`, { method: 'POST', body: {} });
      if (s.current) { csrf.set(null); onSignedOut?.(); return; }
      setNotice(t('common.account.sessions.revoked'));
      load();
    } catch (err) { setError(failureText(err)); load(); }
  };

  return (
    <Box component="section" aria-labelledby={headingId} data-testid="sessions-section">
      <Typography id={headingId} component="h2" variant="h6" gutterBottom>{t('common.account.sessions.heading')}</Typography>
      <Typography variant="body2" sx={{ mb: 1 }}>{t('common.account.sessions.intro')}</Typography>
      {notice && <Alert severity="success" role="status" sx={{ mb: 1 }}>{notice}</Alert>}
      {error && <Alert severity="error" role="alert" sx={{ mb: 1 }}>{error}</Alert>}
      {!sessions && !error && <Typography>{t('common.loading')}</Typography>}
      {sessions && (
        <List dense disablePadding>
          {sessions.map((s) => {
            const name = deviceName(s.userAgent);
            return (
              <ListItem key={s.id} divider data-testid="session-row" data-current={String(s.current)} data-session-id={s.id}
                sx={{ flexWrap: 'wrap', gap: 1, alignItems: 'center' }}>
                <ListItemText sx={{ flex: '1 1 220px', minWidth: 0 }}
                  primary={<>{name}{s.current && <Typography component="span" variant="body2" sx={{ ml: 1, fontWeight: 700 }}>({t('common.account.sessions.current')})</Typography>}</>}
                  secondary={[s.ip ? t('common.account.sessions.from', { ip: s.ip }) : null, t('common.account.sessions.since', { time: when(s.createdAt) }), t('common.account.sessions.lastSeen', { time: when(s.lastSeenAt) })].filter(Boolean).join(' · ')}
                  slotProps={{ secondary: { sx: { color: 'text.secondary' } } }} />
                <Button variant="outlined" color="inherit" size="small" onClick={() => void revoke(s)} aria-label={t('common.account.sessions.revokeLabel', { device: s.current ? `${name} (${t('common.account.sessions.current')})` : name })} data-testid="session-revoke">
                  {t('common.account.sessions.revoke')}
                </Button>
              </ListItem>
            );
          })}
        </List>
      )}
    </Box>
  );
}

export interface AccountSecurityProps {
  /** The signed-in user (read from `GET /api/me` when not given). */
  me?: Me;
  /** Told when two-factor sign-in was turned on or off (the updated user). */
  onChange?(me: Me): void;
  /** Told when this device's own session was ended from the list. */
  onSignedOut?(): void;
}

export function AccountSecurity({ me: given, onChange, onSignedOut }: AccountSecurityProps) {
  const [me, setMe] = useState<Me | null>(given ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (given) { setMe(given); return; }
    api<{ user: Me }>('/me').then((r) => setMe(r.user), (err) => setError(failureText(err)));
  }, [given]);
  if (error) return <Alert severity="error" role="alert">{error}</Alert>;
  if (!me) return <Typography>{t('common.loading')}</Typography>;
  return (
    <Stack spacing={4} data-testid="account-security">
      <TwoFactor me={me} onChange={(totpEnabled) => { const next = { ...me, totpEnabled }; setMe(next); onChange?.(next); }} />
      <Sessions onSignedOut={onSignedOut} />
    </Stack>
  );
}
