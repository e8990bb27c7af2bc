/**
 * Sign-in: e-mail and password (`POST /api/auth/login`); then, when the API asks, the 6-digit code from an
 * authenticator app (401 `totp_required` / `totp_invalid`); a staff account without a second factor yet (403
 * `totp_enrollment_required`) sets one up here with the enrolment token it was given (`POST /api/auth/totp/setup`,
 * then `/enable`, which signs in). On success the CSRF token is kept and `onSignedIn(me)` is called.
 */
import { useId, useState, type FormEvent } from 'react';
import { Alert, Box, Button, Link, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../api.ts';
import { t } from '../i18n.ts';
import { CodeField, TotpQr, failureText, type Me, type SignedIn, type TotpSetup } from './shared.tsx';

type Step = { kind: 'password' } | { kind: 'totp' } | { kind: 'enrol'; enrollmentToken: string; setup: TotpSetup };

export interface SignInFormProps {
  onSignedIn(me: Me): void;
  /** Shows a "Forgot your password?" link that calls this. */
  onForgotPassword?(): void;
}

export function SignInForm({ onSignedIn, onForgotPassword }: SignInFormProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const helpId = useId();

  const done = (r: SignedIn) => { csrf.set(r.csrfToken); onSignedIn(r.user); };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (step.kind === 'enrol') {
        done(await api<SignedIn>('/auth/totp/enable', { method: 'POST', body: { enrollmentToken: step.enrollmentToken, code } }));
      } else {
        done(await api<SignedIn>('/auth/login', { method: 'POST', body: { email, password, ...(step.kind === 'totp' ? { totpCode: code } : {}) } }));
      }
    } catch (err) {
      const a = err instanceof ApiError ? err : null;
      setCode('');
      if (a?.code === 'totp_required') { setStep({ kind: 'totp' }); }
      else if (a?.code === 'totp_invalid') setError(t('common.account.signIn.totpInvalid'));
      else if (a?.code === 'totp_enrollment_required') {
        try {
          const enrollmentToken = String((a.body as { enrollmentToken?: string } | undefined)?.enrollmentToken ?? '');
          const setup = await api<TotpSetup>('/auth/totp/setup', { method: 'POST', body: { enrollmentToken } });
          setStep({ kind: 'enrol', enrollmentToken, setup });
        } catch (setupErr) { setError(failureText(setupErr)); }
      } else if (a?.status === 401) {
        if (step.kind === 'enrol') setStep({ kind: 'password' }); // the set-up time ran out
        setError(step.kind === 'enrol' ? a.message : t('common.account.signIn.failed'));
      } else setError(failureText(err));
    } finally {
      setBusy(false);
    }
  }

  const restart = () => { setStep({ kind: 'password' }); setCode(''); setError(null); };

  return (
    <Box component="form" onSubmit={submit} noValidate data-testid="signin-form" data-step={step.kind}>
      <Stack spacing={2}>
        {step.kind === 'password' && (
          <>
            <TextField label={t('common.email')} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'signin-email' } }} />
            <TextField label={t('common.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'signin-password' } }} />
          </>
        )}
        {step.kind === 'totp' && (
          <>
            <Typography variant="body2" id={helpId}>{t('common.account.signIn.totpHelp')}</Typography>
            <CodeField value={code} onChange={setCode} testId="signin-totp" describedBy={helpId} />
          </>
        )}
        {step.kind === 'enrol' && (
          <>
            <Typography variant="body2">{t('common.account.signIn.enrolIntro')}</Typography>
            <TotpQr setup={step.setup} describedById={helpId} />
            <CodeField value={code} onChange={setCode} testId="signin-enrol-code" describedBy={helpId} />
          </>
        )}
        {error && <Alert severity="error" role="alert" data-testid="signin-error">{error}</Alert>}
        <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="signin-submit">
          {step.kind === 'password' ? t('common.account.signIn.submit') : step.kind === 'totp' ? t('common.account.signIn.verify') : t('common.account.totp.enableAndSignIn')}
        </Button>
        {step.kind === 'password' && onForgotPassword && (
          <Link component="button" type="button" onClick={onForgotPassword} sx={{ alignSelf: 'flex-start' }} data-testid="signin-forgot">{t('common.account.signIn.forgot')}</Link>
        )}
        {step.kind !== 'password' && <Button type="button" color="inherit" onClick={restart} data-testid="signin-restart">{t('common.account.signIn.otherAccount')}</Button>}
      </Stack>
    </Box>
  );
}
