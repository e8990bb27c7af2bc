/** The sign-in page: e-mail and password against `POST /api/auth/login`; then the queue. */
import { useState, type FormEvent } from 'react';
import { useLogin } from 'react-admin';
import { Alert, Box, Button, Card, CardContent, CircularProgress, TextField, Typography } from '@mui/material';
import ShieldIcon from '@mui/icons-material/Shield';
import { errorMessage } from './api';

/** The login page react-admin shows when not signed in. */
export function LoginPage() {
  const login = useLogin();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login({ email, password }, '/cases');
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', bgcolor: 'background.default', p: 2 }}>
      <Card sx={{ width: 360, maxWidth: '100%' }} component="form" onSubmit={submit} data-testid="login-form">
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 1.5, p: '24px !important' }}>
          <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
            <ShieldIcon color="primary" />
            <Typography variant="h6" component="h1">Warden review console</Typography>
          </Box>
          <Typography variant="body2" color="text.secondary">Sign in with your moderator account.</Typography>
          {error && <Alert severity="error" data-testid="login-error">{error}</Alert>}
          <TextField label="E-mail" type="email" autoComplete="username" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'login-email' } }} />
          <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'login-password' } }} />
          <Button type="submit" variant="contained" size="medium" disabled={busy} data-testid="login-submit"
            startIcon={busy ? <CircularProgress size={16} color="inherit" /> : undefined}>Sign in</Button>
        </CardContent>
      </Card>
    </Box>
  );
}
