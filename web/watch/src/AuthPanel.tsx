/**
 * Signing in or up to watch. Sign-in: e-mail and password (`POST /api/auth/login`), then the 6-digit code when the
 * account uses two-factor sign-in (401 `totp_required` / `totp_invalid`); staff are sent to the console. Sign-up:
 * a viewer account (`POST /api/auth/signup`, role viewer) that must show and accept the community guidelines
 * (`GET /api/guidelines`, their version sent back). Stand-ins until the shared account components
 * (web/common/account/) are used here.
 */
import { useEffect, useState, type FormEvent } from 'react';
import {
  Alert, Box, Button, Checkbox, FormControlLabel, Paper, Stack, Tab, Tabs, TextField, Typography,
} from '@mui/material';
import { ApiError, api, csrf } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';

interface Guidelines { version: string; title: string; sections: { heading: string; text: string }[] }

function failure(err: unknown): string {
  const a = err as ApiError;
  if (a.status === 0) return t('common.networkError');
  if (a.status === 429) return t('watch.auth.tooMany');
  return a.message;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; severity: 'info' | 'error' } | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ csrfToken: string }>('/auth/login', { method: 'POST', body: { email, password, ...(needsCode ? { totpCode: code.trim() } : {}) } });
      csrf.set(r.csrfToken);
      onSignedIn();
    } catch (err) {
      const a = err as ApiError;
      if (a.code === 'totp_required') { setNeedsCode(true); setError({ text: t('watch.auth.totpRequired'), severity: 'info' }); }
      else if (a.code === 'totp_invalid') { setNeedsCode(true); setError({ text: t('watch.auth.totpInvalid'), severity: 'error' }); }
      else if (a.code === 'totp_enrollment_required') setError({ text: t('watch.auth.staffUseConsole'), severity: 'info' });
      else setError({ text: a.status === 401 ? t('watch.auth.failed') : failure(err), severity: 'error' });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Box component="form" onSubmit={submit} noValidate>
      <Stack spacing={2}>
        <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)}
          slotProps={{ htmlInput: { 'data-testid': 'signin-email' } }} />
        <TextField label={t('common.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)}
          slotProps={{ htmlInput: { 'data-testid': 'signin-password' } }} />
        {needsCode && (
          <TextField label={t('watch.auth.totpCode')} autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)}
            slotProps={{ htmlInput: { inputMode: 'numeric', pattern: '[0-9]*', maxLength: 6, 'data-testid': 'signin-totp' } }} />
        )}
        {error && <Alert severity={error.severity} data-testid="signin-error">{error.text}</Alert>}
        <Button type="submit" variant="contained" disabled={busy} data-testid="signin-submit">{t('watch.auth.signIn')}</Button>
      </Stack>
    </Box>
  );
}

function SignUp({ onSignedIn }: { onSignedIn: () => void }) {
  const [guidelines, setGuidelines] = useState<Guidelines | null>(null);
  const [email, setEmail] = useState('');
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => { api<Guidelines>('/guidelines').then(setGuidelines, (err) => setError(failure(err))); }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!accepted || !guidelines) { setError(t('watch.auth.mustAccept')); return; }
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ csrfToken: string }>('/auth/signup', {
        method: 'POST', body: { email, password, handle: handle.trim(), role: 'viewer', acceptGuidelines: true, guidelinesVersion: guidelines.version },
      });
      csrf.set(r.csrfToken);
      onSignedIn();
    } catch (err) {
      setError((err as ApiError).status === 409 ? t('watch.auth.taken') : failure(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Box component="form" onSubmit={submit} noValidate>
      <Stack spacing={2}>
        <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)}
          slotProps={{ htmlInput: { 'data-testid': 'signup-email' } }} />
        <TextField label={t('watch.auth.handle')} autoComplete="username" required value={handle} onChange={(e) => setHandle(e.target.value)} helperText={t('watch.auth.handleHelp')}
          slotProps={{ htmlInput: { maxLength: 30, 'data-testid': 'signup-handle' } }} />
        <TextField label={t('watch.auth.newPassword')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)}
          helperText={t('watch.auth.passwordHelp')} slotProps={{ htmlInput: { 'data-testid': 'signup-password' } }} />
        <Box component="section" aria-labelledby="guidelines-heading" tabIndex={0} data-testid="signup-guidelines"
          sx={{ maxHeight: 220, overflowY: 'auto', border: 1, borderColor: 'divider', borderRadius: 1, p: 1.5 }}>
          <Typography id="guidelines-heading" component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{guidelines?.title ?? t('watch.auth.guidelines')}</Typography>
          {guidelines?.sections.map((s) => (
            <Box key={s.heading} sx={{ mt: 1 }}>
              <Typography component="h4" variant="subtitle2">{s.heading}</Typography>
              {s.text.split(/\n{2,}/).map((p, i) => <Typography key={i} variant="body2">{p}</Typography>)}
            </Box>
          ))}
        </Box>
        <FormControlLabel control={<Checkbox checked={accepted} onChange={(e) => { setAccepted(e.target.checked); setError(null); }} slotProps={{ input: { 'data-testid': 'signup-accept' } as object }} />}
          label={t('watch.auth.acceptGuidelines')} />
        {error && <Alert severity="error" data-testid="signup-error">{error}</Alert>}
        <Button type="submit" variant="contained" disabled={busy || !guidelines} data-testid="signup-submit">{t('watch.auth.create')}</Button>
      </Stack>
    </Box>
  );
}

export function AuthPanel({ onSignedIn }: { onSignedIn: () => void }) {
  const [tab, setTab] = useState<'signin' | 'signup'>('signin');
  return (
    <Paper component="section" aria-labelledby="auth-heading" sx={{ p: 3, maxWidth: 480, mx: 'auto' }}>
      <Typography id="auth-heading" component="h1" variant="h5" gutterBottom>{t('watch.auth.heading')}</Typography>
      <Typography sx={{ mb: 2 }}>{t('watch.auth.intro')}</Typography>
      <Tabs value={tab} onChange={(_, v: 'signin' | 'signup') => setTab(v)} aria-label={t('watch.auth.tabs')} sx={{ mb: 2 }} variant="fullWidth">
        <Tab value="signin" label={t('watch.auth.signIn')} id="tab-signin" aria-controls="panel-signin" data-testid="tab-signin" />
        <Tab value="signup" label={t('watch.auth.signUp')} id="tab-signup" aria-controls="panel-signup" data-testid="tab-signup" />
      </Tabs>
      <Box role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'signin' ? <SignIn onSignedIn={onSignedIn} /> : <SignUp onSignedIn={onSignedIn} />}
      </Box>
    </Paper>
  );
}
