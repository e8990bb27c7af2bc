/**
 * Signing in to the studio (with the TOTP step when the account has one), creating a performer account (the
 * community guidelines shown and accepted) and resetting a password, with the shared account components
 * (web/common/account).
 */
import { useState } from 'react';
import { Box, Paper, Tab, Tabs, Typography } from '@mui/material';
import { PasswordResetConfirm, PasswordResetRequest, SignInForm, SignUpForm } from '../../../common/account/index.ts';
import { t } from '../../../common/i18n.ts';
import type { Me } from '../types.ts';

/** The page at /studio/reset?token=…: choose a new password. */
export function ResetConfirm({ token, onDone }: { token: string; onDone(): void }) {
  return (
    <Paper sx={{ p: { xs: 2, sm: 3 }, maxWidth: 560, mx: 'auto' }}>
      <Typography component="h2" variant="h6" sx={{ mb: 2 }}>{t('studio.reset.heading')}</Typography>
      <PasswordResetConfirm token={token} onDone={onDone} />
    </Paper>
  );
}

/** Sign in or sign up (as a performer), or ask for a password-reset link. */
export function AuthScreen({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const [tab, setTab] = useState<'signin' | 'signup' | 'forgot'>('signin');
  return (
    <Paper sx={{ p: { xs: 2, sm: 3 }, maxWidth: 560, mx: 'auto' }}>
      <Typography sx={{ mb: 2 }}>{t('studio.auth.welcome')}</Typography>
      {tab === 'forgot' ? <PasswordResetRequest onBack={() => setTab('signin')} /> : (
        <>
          <Tabs value={tab} onChange={(_e, v: 'signin' | 'signup') => setTab(v)} aria-label={t('studio.auth.tabsLabel')} variant="fullWidth" sx={{ mb: 2 }}>
            <Tab value="signin" label={t('studio.auth.signInTab')} data-testid="tab-signin" id="tab-signin" aria-controls="panel-auth" />
            <Tab value="signup" label={t('studio.auth.signUpTab')} data-testid="tab-signup" id="tab-signup" aria-controls="panel-auth" />
          </Tabs>
          <Box role="tabpanel" id="panel-auth" aria-labelledby={`tab-${tab}`}>
            {tab === 'signin'
              ? <SignInForm onSignedIn={onSignedIn} onForgotPassword={() => setTab('forgot')} />
              : <SignUpForm role="performer" onSignedUp={onSignedIn} />}
          </Box>
        </>
      )}
    </Paper>
  );
}
