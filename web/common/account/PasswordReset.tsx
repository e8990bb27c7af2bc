/**
 * Password reset: asking for a link (`POST /api/auth/password-reset`; the answer is the same whether or not an
 * account uses the address) and choosing a new password with the link's token
 * (`POST /api/auth/password-reset/confirm`; every device is signed out afterwards).
 */
import { useState, type FormEvent } from 'react';
import { Alert, Box, Button, Link, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api } from '../api.ts';
import { t } from '../i18n.ts';
import { failureText } from './shared.tsx';

export interface PasswordResetRequestProps {
  /** Shows a "Back to sign-in" link that calls this. */
  onBack?(): void;
}

export function PasswordResetRequest({ onBack }: PasswordResetRequestProps) {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/auth/password-reset', { method: 'POST', body: { email } });
      setSent(true);
    } catch (err) { setError(failureText(err)); } finally { setBusy(false); }
  }

  return (
    <Box component="form" onSubmit={submit} noValidate data-testid="reset-request-form">
      <Stack spacing={2}>
        <Typography component="h2" variant="h6">{t('common.account.reset.requestHeading')}</Typography>
        {sent ? <Alert severity="success" role="status" data-testid="reset-requested">{t('common.account.reset.requested')}</Alert> : (
          <>
            <Typography variant="body2">{t('common.account.reset.requestIntro')}</Typography>
            <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'reset-email' } }} />
            {error && <Alert severity="error" role="alert" data-testid="reset-error">{error}</Alert>}
            <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="reset-request-submit">{t('common.account.reset.requestSubmit')}</Button>
          </>
        )}
        {onBack && <Link component="button" type="button" onClick={onBack} sx={{ alignSelf: 'flex-start' }}>{t('common.account.reset.backToSignIn')}</Link>}
      </Stack>
    </Box>
  );
}

export interface PasswordResetConfirmProps {
  /** The `token` of the link in the e-mail (`/studio/reset?token=…`). */
  token: string;
  /** Shows a "Back to sign-in" link (after success too) that calls this. */
  onDone?(): void;
}

export function PasswordResetConfirm({ token, onDone }: PasswordResetConfirmProps) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(token ? null : t('common.account.reset.missingToken'));
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== repeat) { setError(t('common.account.reset.mismatch')); return; }
    setBusy(true);
    setError(null);
    try {
      await api('/auth/password-reset/confirm', { method: 'POST', body: { token, password } });
      setDone(true);
    } catch (err) {
      setError(err instanceof ApiError && /not valid any more/.test(err.message) ? t('common.account.reset.invalidLink') : failureText(err));
    } finally { setBusy(false); }
  }

  return (
    <Box component="form" onSubmit={submit} noValidate data-testid="reset-confirm-form">
      <Stack spacing={2}>
        <Typography component="h2" variant="h6">{t('common.account.reset.confirmHeading')}</Typography>
        {done ? <Alert severity="success" role="status" data-testid="reset-done">{t('common.account.reset.done')}</Alert> : (
          <>
            <TextField label={t('common.account.reset.newPassword')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)}
              helperText={t('common.account.signUp.passwordHelp')} slotProps={{ htmlInput: { minLength: 10, maxLength: 256, 'data-testid': 'reset-password' } }} />
            <TextField label={t('common.account.reset.repeat')} type="password" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)}
              slotProps={{ htmlInput: { maxLength: 256, 'data-testid': 'reset-repeat' } }} />
            {error && <Alert severity="error" role="alert" data-testid="reset-error">{error}</Alert>}
            <Button type="submit" variant="contained" size="large" disabled={busy || !token} data-testid="reset-confirm-submit">{t('common.account.reset.confirmSubmit')}</Button>
          </>
        )}
        {onDone && <Link component="button" type="button" onClick={onDone} sx={{ alignSelf: 'flex-start' }}>{t('common.account.reset.backToSignIn')}</Link>}
      </Stack>
    </Box>
  );
}
