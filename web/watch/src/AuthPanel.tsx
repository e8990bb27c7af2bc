/**
 * Signing in or up to watch, with the shared account components (web/common/account/): sign-in with the
 * two-factor step when the account uses it (and a staff account's first enrolment), a viewer sign-up that shows
 * and accepts the community guidelines, and the password-reset request (the e-mailed link opens the studio's
 * reset page, which works for every account).
 */
import { useState } from 'react';
import { Box, Paper, Tab, Tabs, Typography } from '@mui/material';
import { PasswordResetRequest, SignInForm, SignUpForm } from '../../common/account/index.ts';
import { t } from '../../common/i18n.ts';

type View = 'signin' | 'signup' | 'reset';

export function AuthPanel({ onSignedIn }: { onSignedIn: () => void }) {
  const [view, setView] = useState<View>('signin');
  const tab = view === 'signup' ? 'signup' : 'signin';
  return (
    <Paper component="section" aria-labelledby="auth-heading" sx={{ p: 3, maxWidth: 480, mx: 'auto' }}>
      <Typography id="auth-heading" component="h1" variant="h5" gutterBottom>{t('watch.auth.heading')}</Typography>
      <Typography sx={{ mb: 2 }}>{t('watch.auth.intro')}</Typography>
      <Tabs value={tab} onChange={(_, v: View) => setView(v)} aria-label={t('watch.auth.tabs')} sx={{ mb: 2 }} variant="fullWidth">
        <Tab value="signin" label={t('watch.auth.signIn')} id="tab-signin" aria-controls="panel-signin" data-testid="tab-signin" />
        <Tab value="signup" label={t('watch.auth.signUp')} id="tab-signup" aria-controls="panel-signup" data-testid="tab-signup" />
      </Tabs>
      <Box role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {view === 'signin' && <SignInForm onSignedIn={onSignedIn} onForgotPassword={() => setView('reset')} />}
        {view === 'reset' && <PasswordResetRequest onBack={() => setView('signin')} />}
        {view === 'signup' && <SignUpForm role="viewer" onSignedUp={onSignedIn} />}
      </Box>
    </Paper>
  );
}
