/**
 * The watch app: sign in, pass the age gate, then the live list (`/watch/`) or one broadcast (`/watch/<id>`).
 * Nothing plays before the age gate. Navigation uses the History API; the server serves index.html for every
 * client route under /watch/.
 */
import { useCallback, useEffect, useState } from 'react';
import { Alert, AppBar, Button, Container, Dialog, DialogActions, DialogContent, DialogTitle, Link, Toolbar, Typography } from '@mui/material';
import { AccountSecurity } from '../../common/account/index.ts';
import { t } from '../../common/i18n.ts';
import { useMe } from './session.ts';
import { AuthPanel } from './AuthPanel.tsx';
import { AgeGate } from './AgeGate.tsx';
import { LiveList } from './LiveList.tsx';
import { WatchPage } from './WatchPage.tsx';
import { ReportDialog } from './ReportDialog.tsx';
import { MyReports } from './MyReports.tsx';
import type { LiveBroadcast, ReportSubject } from './types.ts';

const ROUTE = /^\/watch\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;
const routeOf = (path: string) => ROUTE.exec(path)?.[1] ?? null;

export function App() {
  const { me, error, reload, signOut } = useMe();
  const [broadcastId, setBroadcastId] = useState<string | null>(() => routeOf(location.pathname));
  const [known, setKnown] = useState<LiveBroadcast | undefined>();
  const [report, setReport] = useState<ReportSubject | null>(null);
  const [reportsOpen, setReportsOpen] = useState(false);
  const [securityOpen, setSecurityOpen] = useState(false);

  useEffect(() => {
    const onPop = () => setBroadcastId(routeOf(location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = useCallback((b: LiveBroadcast | null) => {
    history.pushState(null, '', b ? `/watch/${b.id}` : '/watch/');
    setKnown(b ?? undefined);
    setBroadcastId(b?.id ?? null);
  }, []);

  let main: React.ReactNode;
  if (me === undefined) main = error ? <Alert severity="error">{t('common.networkError')}</Alert> : <Typography>{t('common.loading')}</Typography>;
  else if (me === null) main = <AuthPanel onSignedIn={() => void reload()} />;
  else if (!me.adult && !['moderator', 'senior_moderator', 'admin'].includes(me.role)) main = <AgeGate onAdult={() => void reload()} given={me.birthDateGiven ?? false} />;
  else if (broadcastId) main = <WatchPage broadcastId={broadcastId} me={me} known={known} onReport={setReport} onBack={() => go(null)} />;
  else main = <LiveList onOpen={go} />;

  return (
    <>
      <Link href="#main" sx={{ position: 'absolute', left: -9999, '&:focus': { left: 8, top: 8, zIndex: 2000, bgcolor: 'background.paper', p: 1 } }}>{t('watch.skipToPlayer')}</Link>
      <AppBar position="static" color="default" elevation={1}>
        <Toolbar sx={{ gap: 1, flexWrap: 'wrap' }}>
          <Typography component="p" variant="h6" sx={{ flexGrow: 1 }}>
            <Link href="/watch/" underline="hover" color="inherit" onClick={(e) => { e.preventDefault(); go(null); }}>{t('common.appName')} · {t('watch.title')}</Link>
          </Typography>
          {me && (
            <>
              <Typography variant="body2" sx={{ display: { xs: 'none', sm: 'block' } }}>{t('watch.nav.signedInAs', { handle: me.handle })}</Typography>
              <Button size="small" onClick={() => setReportsOpen(true)} data-testid="my-reports-open">{t('watch.nav.myReports')}</Button>
              <Button size="small" onClick={() => setSecurityOpen(true)} data-testid="security-open">{t('watch.nav.security')}</Button>
              <Button size="small" onClick={() => void signOut()}>{t('common.signOut')}</Button>
            </>
          )}
        </Toolbar>
      </AppBar>
      <Container component="main" id="main" maxWidth="xl" sx={{ py: 2 }}>
        {main}
      </Container>
      <ReportDialog subject={report} onClose={() => setReport(null)} />
      <MyReports open={reportsOpen} onClose={() => setReportsOpen(false)} />
      <Dialog open={securityOpen && !!me} onClose={() => setSecurityOpen(false)} fullWidth maxWidth="sm" aria-labelledby="security-title">
        <DialogTitle id="security-title">{t('watch.nav.security')}</DialogTitle>
        <DialogContent>
          {securityOpen && <AccountSecurity onSignedOut={() => { setSecurityOpen(false); void reload(); }} />}
        </DialogContent>
        <DialogActions><Button onClick={() => setSecurityOpen(false)}>{t('watch.nav.close')}</Button></DialogActions>
      </Dialog>
    </>
  );
}
