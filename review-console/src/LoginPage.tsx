/**
 * The sign-in page: e-mail and password against `POST /api/auth/login`, then the second factor every staff
 * account needs: the 6-digit code from an authenticator app, or, the first time, setting one up (a QR code and
 * the key to type by hand, from `POST /api/auth/totp/setup` with the enrolment token the API gave, then the app's
 * code to `POST /api/auth/totp/enable`). Then the queue.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useLogin } from 'react-admin';
import { Alert, Box, Button, Card, CardContent, CircularProgress, TextField, Typography } from '@mui/material';
import ShieldIcon from '@mui/icons-material/Shield';
import { api, errorCode, errorMessage } from './api';

type Step =
  | { kind: 'password' }
  | { kind: 'totp' }
  | { kind: 'enrol'; enrollmentToken: string; secret: string; qrDataUrl: string };

/** The code as typed, digits only (apps show "123 456"). */
const digits = (v: string) => v.replace(/\D/g, '').slice(0, 6);

/** The login page react-admin shows when not signed in. */
export function LoginPage() {
  const login = useLogin();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const codeField = useRef<HTMLInputElement>(null);

  useEffect(() => { if (step.kind !== 'password') codeField.current?.focus(); }, [step.kind]);

  /** Moves to the step the API's refusal asks for; false when it is a plain failure. */
  const follow = async (err: unknown): Promise<boolean> => {
    const why = errorCode(err);
    if (why === 'totp_required') { setStep({ kind: 'totp' }); setCode(''); return true; }
    if (why === 'totp_enrollment_required') {
      const enrollmentToken = String((err as { body?: { enrollmentToken?: string } }).body?.enrollmentToken ?? '');
      const setup = await api<{ secret: string; qrDataUrl: string }>('/auth/totp/setup', { method: 'POST', body: { enrollmentToken } });
      setStep({ kind: 'enrol', enrollmentToken, secret: setup.secret, qrDataUrl: setup.qrDataUrl });
      setCode('');
      return true;
    }
    return false;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (step.kind === 'enrol') await login({ enrollmentToken: step.enrollmentToken, totpCode: code }, '/cases');
      else await login({ email, password, ...(step.kind === 'totp' ? { totpCode: code } : {}) }, '/cases');
    } catch (err) {
      try {
        if (step.kind === 'password' && (await follow(err))) { setBusy(false); return; }
      } catch (setupErr) {
        err = setupErr;
      }
      if (errorCode(err) === 'unauthenticated' && step.kind === 'enrol') setStep({ kind: 'password' }); // the set-up time ran out
      setError(errorMessage(err));
      setCode('');
      setBusy(false);
    }
  };

  const restart = () => { setStep({ kind: 'password' }); setCode(''); setError(null); };
  const codeInput = (
    <TextField label="6-digit code" inputRef={codeField} required value={code} onChange={(e) => setCode(digits(e.target.value))}
      autoComplete="one-time-code"
      slotProps={{ htmlInput: { 'data-testid': step.kind === 'enrol' ? 'enrol-code' : 'login-totp', inputMode: 'numeric', pattern: '[0-9]{6}', maxLength: 6, 'aria-describedby': 'login-code-help' } }} />
  );

  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', bgcolor: 'background.default', p: 2 }}>
      <Card sx={(theme) => ({
        width: step.kind === 'enrol' ? 420 : 360, maxWidth: '100%',
        // the focused label in the theme's primary falls short of 4.5:1 on the filled field; a shade further passes
        '& .MuiInputLabel-root.Mui-focused': { color: theme.palette.mode === 'dark' ? theme.palette.primary.light : theme.palette.primary.dark },
      })} component="form" onSubmit={submit} data-testid="login-form" data-step={step.kind}>
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 1.5, p: '24px !important' }}>
          <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
            <ShieldIcon color="primary" />
            <Typography variant="h6" component="h1">Warden review console</Typography>
          </Box>
          {step.kind === 'password' && <Typography variant="body2" color="text.secondary">Sign in with your moderator account.</Typography>}
          {step.kind === 'totp' && (
            <Typography variant="body2" color="text.secondary" id="login-code-help">
              Enter the 6-digit code your authenticator app shows for Warden ({email}).
            </Typography>
          )}
          {step.kind === 'enrol' && (
            <>
              <Typography variant="subtitle1" component="h2">Set up two-factor sign-in</Typography>
              <Typography variant="body2" color="text.secondary" id="login-code-help">
                Staff accounts sign in with a code from an authenticator app as well as the password. Scan this QR code with the app
                (or enter the key by hand), then type the 6-digit code it shows. Keep the app: you will need a code every time you sign in.
              </Typography>
              <Box component="img" src={step.qrDataUrl} alt="QR code to add Warden to your authenticator app" data-testid="enrol-qr"
                sx={{ width: 200, height: 200, alignSelf: 'center', imageRendering: 'pixelated', bgcolor: '#fff' }} />
              <Typography variant="body2">
                Key: <Box component="code" data-testid="enrol-secret" data-secret={step.secret} sx={{ fontFamily: 'monospace', wordBreak: 'break-all', fontSize: '0.95rem' }}>
                  {step.secret.match(/.{1,4}/g)!.join(' ')}
                </Box>
              </Typography>
            </>
          )}
          {error && <Alert severity="error" data-testid="login-error">{error}</Alert>}
          {step.kind === 'password' ? (
            <>
              <TextField label="E-mail" type="email" autoComplete="username" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)}
                slotProps={{ htmlInput: { 'data-testid': 'login-email' } }} />
              <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)}
                slotProps={{ htmlInput: { 'data-testid': 'login-password' } }} />
            </>
          ) : codeInput}
          {/* no pulsing focus ripple: it lightens the button below 4.5:1 while it pulses; a focus outline instead */}
          <Button type="submit" variant="contained" size="medium" disabled={busy} data-testid={step.kind === 'enrol' ? 'enrol-submit' : 'login-submit'} disableFocusRipple
            sx={{ '&.Mui-focusVisible': { outline: '3px solid #f59e0b', outlineOffset: 2 } }}
            startIcon={busy ? <CircularProgress size={16} color="inherit" /> : undefined}>
            {step.kind === 'enrol' ? 'Turn on and sign in' : step.kind === 'totp' ? 'Verify' : 'Sign in'}
          </Button>
          {step.kind !== 'password' && <Button variant="text" color="inherit" onClick={restart} data-testid="login-restart">Use another account</Button>}
        </CardContent>
      </Card>
    </Box>
  );
}
