/**
 * Sign-up for a performer or a viewer (`POST /api/auth/signup`): e-mail, handle, a new password, and the
 * community guidelines (`GET /api/guidelines`) shown in full and accepted (their version is sent back, so a
 * change since the page loaded is refused). On success the CSRF token is kept and `onSignedUp(me)` is called.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Alert, Box, Button, Checkbox, FormControlLabel, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../api.ts';
import { t } from '../i18n.ts';
import { failureText, type Me, type SignedIn } from './shared.tsx';

/** The community guidelines as `GET /api/guidelines` returns them. */
export interface Guidelines { version: string; title: string; sections: { heading: string; text: string }[] }

export interface SignUpFormProps {
  role: 'performer' | 'viewer';
  onSignedUp(me: Me): void;
}

export function SignUpForm({ role, onSignedUp }: SignUpFormProps) {
  const [guidelines, setGuidelines] = useState<Guidelines | null>(null);
  const [loadFailed, setLoadFailed] = useState(false);
  const [email, setEmail] = useState('');
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [accepted, setAccepted] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingId = useId();

  const load = () => {
    setLoadFailed(false);
    api<Guidelines>('/guidelines').then(setGuidelines, () => setLoadFailed(true));
  };
  useEffect(load, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!guidelines) return;
    if (!accepted) { setError(t('common.account.signUp.mustAccept')); return; }
    setBusy(true);
    setError(null);
    try {
      const r = await api<SignedIn>('/auth/signup', {
        method: 'POST', body: { email, password, handle: handle.trim(), role, acceptGuidelines: true, guidelinesVersion: guidelines.version },
      });
      csrf.set(r.csrfToken);
      onSignedUp(r.user);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? t('common.account.signUp.taken') : failureText(err));
      if (err instanceof ApiError && /guidelines are now version/.test(err.message)) { setAccepted(false); load(); }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Box component="form" onSubmit={submit} noValidate data-testid="signup-form">
      <Stack spacing={2}>
        <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)}
          slotProps={{ htmlInput: { maxLength: 254, 'data-testid': 'signup-email' } }} />
        <TextField label={t('common.account.signUp.handle')} autoComplete="username" required value={handle} onChange={(e) => setHandle(e.target.value)}
          helperText={t('common.account.signUp.handleHelp')} slotProps={{ htmlInput: { maxLength: 30, pattern: '[A-Za-z0-9_\\-]{3,30}', 'data-testid': 'signup-handle' } }} />
        <TextField label={t('common.account.signUp.password')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)}
          helperText={t('common.account.signUp.passwordHelp')} slotProps={{ htmlInput: { minLength: 10, maxLength: 256, 'data-testid': 'signup-password' } }} />
        <Box component="section" aria-labelledby={headingId} tabIndex={0} data-testid="signup-guidelines"
          sx={{ maxHeight: 240, overflowY: 'auto', border: 1, borderColor: 'divider', borderRadius: 1, p: 1.5, '&:focus-visible': { outline: '3px solid #f59e0b', outlineOffset: 2 } }}>
          <Typography id={headingId} component="h2" variant="subtitle1" sx={{ fontWeight: 700 }}>{guidelines?.title ?? t('common.account.signUp.guidelines')}</Typography>
          {guidelines && <Typography variant="caption" color="text.secondary">{t('common.account.signUp.guidelinesVersion', { version: guidelines.version })}</Typography>}
          {!guidelines && !loadFailed && <Typography variant="body2">{t('common.loading')}</Typography>}
          {loadFailed && (
            <Alert severity="error" action={<Button color="inherit" onClick={load}>{t('common.retry')}</Button>}>{t('common.account.signUp.guidelinesLoadFailed')}</Alert>
          )}
          {guidelines?.sections.map((s) => (
            <Box key={s.heading} sx={{ mt: 1 }}>
              <Typography component="h3" variant="subtitle2">{s.heading}</Typography>
              {s.text.split(/\n{2,}/).map((p, i) => <Typography key={i} variant="body2">{p}</Typography>)}
            </Box>
          ))}
        </Box>
        <FormControlLabel
          control={<Checkbox checked={accepted} onChange={(e) => setAccepted(e.target.checked)} slotProps={{ input: { 'data-testid': 'signup-accept' } as object }} />}
          label={t('common.account.signUp.accept')} />
        {error && <Alert severity="error" role="alert" data-testid="signup-error">{error}</Alert>}
        <Button type="submit" variant="contained" size="large" disabled={busy || !guidelines} data-testid="signup-submit">{t('common.account.signUp.submit')}</Button>
      </Stack>
    </Box>
  );
}
