/** Account: who is signed in, and signing out (two-factor sign-in and sessions join here from web/common/account). */
import { Button, Stack, Typography } from '@mui/material';
import { t } from '../../../common/i18n.ts';
import { Section } from '../Section.tsx';
import type { Me } from '../types.ts';

export function AccountPage({ me, onSignOut }: { me: Me; onSignOut(): void }) {
  return (
    <Section title={t('studio.account.heading')} testId="account-section">
      <Stack spacing={1}>
        <Typography>{t('studio.account.handle', { handle: me.handle })}</Typography>
        {me.email && <Typography>{t('studio.account.email', { email: me.email })}</Typography>}
        <Button variant="outlined" onClick={onSignOut} sx={{ alignSelf: 'flex-start' }}>{t('studio.account.signOut')}</Button>
      </Stack>
    </Section>
  );
}
