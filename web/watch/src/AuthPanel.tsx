/**
 * Signing in to watch: e-mail and password (`POST /api/auth/login`), then the page reloads `/api/me`. A plain
 * form until the shared account components (web/common/account/) are used here.
 */
import { useState, type FormEvent } from 'react';
import { Alert, Box, Button, Paper, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';

export function AuthPanel({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ csrfToken: string }>('/auth/login', { method: 'POST', body: { email, password } });
      csrf.set(r.csrfToken);
      onSignedIn();
    } catch (err) {
      const a = err as ApiError;
      setError(a.status === 429 ? t('watch.auth.tooMany') : a.status === 401 ? t('watch.auth.failed') : a.status === 0 ? t('common.networkError') : a.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Paper component="section" aria-labelledby="auth-heading" sx={{ p: 3, maxWidth: 440, mx: 'auto' }}>
      <Typography id="auth-heading" component="h2" variant="h5" gutterBottom>{t('watch.auth.heading')}</Typography>
      <Typography sx={{ mb: 2 }}>{t('watch.auth.intro')}</Typography>
      <Box component="form" onSubmit={submit} noValidate>
        <Stack spacing={2}>
          <TextField label={t('common.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'signin-email' } }} />
          <TextField label={t('common.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'signin-password' } }} />
          {error && <Alert severity="error" data-testid="signin-error">{error}</Alert>}
          <Button type="submit" variant="contained" disabled={busy} data-testid="signin-submit">{t('watch.auth.signIn')}</Button>
        </Stack>
      </Box>
    </Paper>
  );
}
