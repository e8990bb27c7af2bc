/** Account: who is signed in, two-factor sign-in and the signed-in devices (web/common/account), signing out. */
import { Button, Stack, Typography } from '@mui/material';
import { AccountSecurity } from '../../../common/account/index.ts';
import { t } from '../../../common/i18n.ts';
import { Section } from '../Section.tsx';
import type { Me } from '../types.ts';

export function AccountPage({ me, onSignOut, onSignedOut }: { me: Me; onSignOut(): void; onSignedOut(): void }) {
  return (
    <>
      <Section title={t('studio.account.heading')} testId="account-section">
        <Stack spacing={1}>
          <Typography>{t('studio.account.handle', { handle: me.handle })}</Typography>
          {me.email && <Typography>{t('studio.account.email', { email: me.email })}</Typography>}
          <Button variant="outlined" onClick={onSignOut} sx={{ alignSelf: 'flex-start' }}>{t('studio.account.signOut')}</Button>
        </Stack>
      </Section>
      <Section title={t('studio.account.securityHeading')}>
        <AccountSecurity onSignedOut={onSignedOut} />
      </Section>
    </>
  );
}
