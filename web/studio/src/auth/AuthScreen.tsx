/**
 * Signing in to the studio and creating a performer account (with the community guidelines shown and accepted),
 * and the password-reset pages. Stand-ins for the shared account components (web/common/account) until they land:
 * the same API calls (`POST /api/auth/login` with the TOTP step, `POST /api/auth/signup`, `GET /api/guidelines`,
 * `POST /api/auth/password-reset[/confirm]`).
 */
import { useEffect, useId, useState } from 'react';
import { Alert, Box, Button, Checkbox, FormControlLabel, Link, Paper, Stack, Tab, Tabs, TextField, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { errorText } from '../format.ts';
import type { Me } from '../types.ts';

interface SignedIn { user: Me; csrfToken: string }

function SignInForm({ onSignedIn, onForgot }: { onSignedIn(me: Me): void; onForgot(): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<SignedIn>('/auth/login', { method: 'POST', body: { email, password, ...(needCode ? { totpCode: code } : {}) } });
      csrf.set(r.csrfToken);
      onSignedIn(r.user);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') { setNeedCode(true); setError(t('studio.auth.totpNeeded')); } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box component="form" onSubmit={submit} noValidate>
      <Stack spacing={2}>
        <TextField label={t('common.email')} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} slotProps={{ htmlInput: { 'data-testid': 'signin-email' } }} />
        <TextField label={t('common.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} slotProps={{ htmlInput: { 'data-testid': 'signin-password' } }} />
        {needCode && <TextField label={t('studio.auth.totpCode')} autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} slotProps={{ htmlInput: { inputMode: 'numeric', 'data-testid': 'signin-totp' } }} />}
        {error && <Alert severity="error" role="alert" data-testid="signin-error">{error}</Alert>}
        <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="signin-submit">{t('studio.auth.submitSignIn')}</Button>
        <Link component="button" type="button" onClick={onForgot} sx={{ alignSelf: 'flex-start' }}>{t('studio.auth.forgotPassword')}</Link>
      </Stack>
    </Box>
  );
}

interface Guidelines { version: string; title: string; sections: { heading: string; text: string }[] }

function SignUpForm({ onSignedUp }: { onSignedUp(me: Me): void }) {
  const [guidelines, setGuidelines] = useState<Guidelines | null>(null);
  const [email, setEmail] = useState('');
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [accepted, setAccepted] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingId = useId();
  useEffect(() => { void api<Guidelines>('/guidelines').then(setGuidelines).catch((err) => setError(errorText(err))); }, []);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!guidelines) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api<SignedIn>('/auth/signup', { method: 'POST', body: { email, handle, password, role: 'performer', acceptGuidelines: accepted, guidelinesVersion: guidelines.version } });
      csrf.set(r.csrfToken);
      onSignedUp(r.user);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box component="form" onSubmit={submit} noValidate>
      <Stack spacing={2}>
        <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} slotProps={{ htmlInput: { 'data-testid': 'signup-email' } }} />
        <TextField label={t('studio.auth.handle')} autoComplete="username" required value={handle} onChange={(e) => setHandle(e.target.value)} helperText={t('studio.auth.handleHelp')} slotProps={{ htmlInput: { 'data-testid': 'signup-handle' } }} />
        <TextField label={t('common.password')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} helperText={t('studio.auth.passwordHelp')} slotProps={{ htmlInput: { 'data-testid': 'signup-password' } }} />
        <Paper variant="outlined" component="section" aria-labelledby={headingId} tabIndex={0} data-testid="guidelines" sx={{ p: 2, maxHeight: 260, overflow: 'auto' }}>
          {guidelines ? (
            <>
              <Typography id={headingId} component="h2" variant="h6">{t('studio.auth.guidelinesHeading', { version: guidelines.version })}</Typography>
              {guidelines.sections.map((s) => (
                <Box key={s.heading} sx={{ mt: 1 }}>
                  <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{s.heading}</Typography>
                  <Typography variant="body2">{s.text}</Typography>
                </Box>
              ))}
            </>
          ) : <Typography id={headingId}>{t('studio.auth.guidelinesLoading')}</Typography>}
        </Paper>
        <FormControlLabel control={<Checkbox checked={accepted} onChange={(e) => setAccepted(e.target.checked)} slotProps={{ input: { 'data-testid': 'signup-accept' } as React.InputHTMLAttributes<HTMLInputElement> }} />} label={t('studio.auth.acceptGuidelines')} />
        {error && <Alert severity="error" role="alert" data-testid="signup-error">{error}</Alert>}
        <Button type="submit" variant="contained" size="large" disabled={busy || !guidelines || !accepted} data-testid="signup-submit">{t('studio.auth.submitSignUp')}</Button>
      </Stack>
    </Box>
  );
}

function ResetRequest({ onBack }: { onBack(): void }) {
  const [email, setEmail] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    try { await api('/auth/password-reset', { method: 'POST', body: { email } }); setDone(true); } catch (err) { setError(errorText(err)); }
  };
  return (
    <Box component="form" onSubmit={submit} noValidate>
      <Stack spacing={2}>
        <Typography component="h2" variant="h6">{t('studio.reset.requestHeading')}</Typography>
        <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        {done && <Alert severity="success" role="status">{t('studio.reset.requestDone')}</Alert>}
        {error && <Alert severity="error" role="alert">{error}</Alert>}
        <Button type="submit" variant="contained">{t('studio.reset.requestSubmit')}</Button>
        <Link component="button" type="button" onClick={onBack} sx={{ alignSelf: 'flex-start' }}>{t('studio.auth.backToSignIn')}</Link>
      </Stack>
    </Box>
  );
}

/** The page at /studio/reset?token=…: choose a new password. */
export function ResetConfirm({ token, onDone }: { token: string; onDone(): void }) {
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    try { await api('/auth/password-reset/confirm', { method: 'POST', body: { token, password } }); setDone(true); } catch (err) { setError(errorText(err)); }
  };
  return (
    <Paper sx={{ p: 3, maxWidth: 520, mx: 'auto' }}>
      <Box component="form" onSubmit={submit} noValidate>
        <Stack spacing={2}>
          <Typography component="h1" variant="h5">{t('studio.reset.heading')}</Typography>
          <TextField label={t('studio.reset.newPassword')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} helperText={t('studio.auth.passwordHelp')} />
          {done && <Alert severity="success" role="status">{t('studio.reset.done')}</Alert>}
          {error && <Alert severity="error" role="alert">{error}</Alert>}
          {!done && <Button type="submit" variant="contained">{t('studio.reset.submit')}</Button>}
          <Link component="button" type="button" onClick={onDone} sx={{ alignSelf: 'flex-start' }}>{t('studio.auth.backToSignIn')}</Link>
        </Stack>
      </Box>
    </Paper>
  );
}

/** Sign in or sign up (as a performer). */
export function AuthScreen({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const [tab, setTab] = useState<'signin' | 'signup' | 'forgot'>('signin');
  return (
    <Paper sx={{ p: { xs: 2, sm: 3 }, maxWidth: 560, mx: 'auto' }}>
      <Typography sx={{ mb: 2 }}>{t('studio.auth.welcome')}</Typography>
      {tab === 'forgot' ? <ResetRequest onBack={() => setTab('signin')} /> : (
        <>
          <Tabs value={tab} onChange={(_e, v: 'signin' | 'signup') => setTab(v)} aria-label={t('studio.auth.tabsLabel')} variant="fullWidth" sx={{ mb: 2 }}>
            <Tab value="signin" label={t('studio.auth.signInTab')} data-testid="tab-signin" id="tab-signin" aria-controls="panel-auth" />
            <Tab value="signup" label={t('studio.auth.signUpTab')} data-testid="tab-signup" id="tab-signup" aria-controls="panel-auth" />
          </Tabs>
          <Box role="tabpanel" id="panel-auth" aria-labelledby={`tab-${tab}`}>
            {tab === 'signin' ? <SignInForm onSignedIn={onSignedIn} onForgot={() => setTab('forgot')} /> : <SignUpForm onSignedUp={onSignedIn} />}
          </Box>
        </>
      )}
    </Paper>
  );
}
