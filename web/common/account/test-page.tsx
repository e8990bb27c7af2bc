/**
 * A test page for the account components: each mounted on its own hash route (#signin, #signup, #account,
 * #reset-request, #reset?token=…). tests/e2e/accounts.e2e.test.ts bundles it with esbuild and serves it under
 * /studio from the real API; no app imports it, so it is never part of a build.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Container, CssBaseline, Paper, Typography } from '@mui/material';
import { ThemeProvider } from '@mui/material/styles';
import { theme } from '../theme.ts';
import { AccountSecurity, PasswordResetConfirm, PasswordResetRequest, SignInForm, SignUpForm, type Me } from './index.ts';

function Page() {
  const [hash, setHash] = useState(location.hash);
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => { const on = () => setHash(location.hash); addEventListener('hashchange', on); return () => removeEventListener('hashchange', on); }, []);
  const signedIn = (m: Me) => { setMe(m); location.hash = '#account'; };
  const [route, query] = hash.slice(1).split('?');
  let body;
  if (route === 'signup') body = <SignUpForm role="viewer" onSignedUp={signedIn} />;
  else if (route === 'account') body = <AccountSecurity me={me ?? undefined} onSignedOut={() => { location.hash = '#signin'; }} />;
  else if (route === 'reset-request') body = <PasswordResetRequest onBack={() => { location.hash = '#signin'; }} />;
  else if (route === 'reset') body = <PasswordResetConfirm token={new URLSearchParams(query).get('token') ?? ''} onDone={() => { location.hash = '#signin'; }} />;
  else body = <SignInForm onSignedIn={signedIn} onForgotPassword={() => { location.hash = '#reset-request'; }} />;
  return (
    <Container component="main" maxWidth="sm" sx={{ py: 3 }}>
      <Paper sx={{ p: 3 }}>
        <Typography component="h1" variant="h5" gutterBottom data-testid="fixture-route">{route || 'signin'}</Typography>
        {body}
      </Paper>
    </Container>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode><ThemeProvider theme={theme}><CssBaseline /><Page /></ThemeProvider></StrictMode>,
);
