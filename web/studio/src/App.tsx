/**
 * The performer studio: signs the performer in (or up), then the sections — live status, verification, stream
 * keys, their room, decisions and appeals, account — with the panic button fixed at the bottom of every page
 * while they are live. The live status is polled every 3 s; the panic alert's progress comes from the
 * performer's own alert stream.
 */
import { useCallback, useEffect, useState } from 'react';
import { AppBar, Box, Button, CircularProgress, Container, Link, Toolbar, Typography } from '@mui/material';
import { ApiError, api, csrf } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import { AuthScreen, ResetConfirm } from './auth/AuthScreen.tsx';
import { PanicBar } from './panic/PanicBar.tsx';
import { usePanic } from './panic/usePanic.ts';
import { AccountPage } from './pages/AccountPage.tsx';
import { KeysPage } from './pages/KeysPage.tsx';
import { LivePage } from './pages/LivePage.tsx';
import { RoomPage } from './pages/RoomPage.tsx';
import { StatementsPage } from './pages/StatementsPage.tsx';
import { VerificationPage } from './pages/VerificationPage.tsx';
import { SECTIONS, navigate, useRoute, type Section } from './router.ts';
import { errorText } from './format.ts';
import type { LiveStatus, Me, Room, RoomSettings } from './types.ts';

/** How often the live status is refreshed. */
const POLL_MS = 3000;

function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const i = setInterval(() => setNow(Date.now()), everyMs); return () => clearInterval(i); }, [everyMs]);
  return now;
}

function Nav({ section }: { section: Section }) {
  return (
    <Box component="nav" aria-label={t('studio.nav.label')} sx={{ overflowX: 'auto', borderBottom: 1, borderColor: 'divider', bgcolor: 'background.paper' }}>
      <Box component="ul" sx={{ display: 'flex', gap: 0.5, m: 0, p: 0.5, listStyle: 'none', maxWidth: 1100, mx: 'auto' }}>
        {SECTIONS.map((s) => (
          <li key={s}>
            <Button component="a" href={s === 'live' ? '/studio/' : `/studio/${s}`} data-testid={`nav-${s}`} aria-current={section === s ? 'page' : undefined}
              variant={section === s ? 'contained' : 'text'} sx={{ whiteSpace: 'nowrap' }}
              onClick={(e: React.MouseEvent) => { if (e.metaKey || e.ctrlKey || e.shiftKey) return; e.preventDefault(); navigate(s); }}>
              {t(`studio.nav.${s}`)}
            </Button>
          </li>
        ))}
      </Box>
    </Box>
  );
}

function Studio({ me, section, onSignOut, onSignedOut }: { me: Me; section: Section; onSignOut(): void; onSignedOut(): void }) {
  const [live, setLive] = useState<LiveStatus | null>(null);
  const [liveError, setLiveError] = useState<string | null>(null);
  const [settings, setSettings] = useState<RoomSettings | null>(null);
  const panic = usePanic(true);
  const now = useNow();

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const l = await api<LiveStatus>('/studio/live');
        if (!stopped) { setLive(l); setLiveError(null); }
      } catch (err) {
        if (!stopped) setLiveError(errorText(err));
      }
      if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    void api<Room>('/rooms/me').then((r) => { if (!stopped) setSettings(r); }).catch(() => undefined);
    return () => { stopped = true; window.clearTimeout(timer); };
  }, []);

  const onSettings = useCallback((s: RoomSettings) => setSettings({ slowModeS: s.slowModeS, trustedOnly: s.trustedOnly, panicProtection: s.panicProtection }), []);
  const isLive = !!live?.broadcast;
  const barShown = isLive || panic.phase !== 'idle';

  useEffect(() => { document.title = `${t(`studio.nav.${section === 'reset' ? 'live' : section}`)} · ${t('studio.documentTitle')}`; }, [section]);

  return (
    <>
      <Nav section={section} />
      <Container component="main" id="main" tabIndex={-1} maxWidth="lg" sx={{ py: 2, pb: barShown ? 30 : 4, outline: 'none' }}>
        {section === 'live' && <LivePage live={live} error={liveError} settings={settings} onSettings={onSettings} now={now} />}
        {section === 'verification' && <VerificationPage />}
        {section === 'keys' && <KeysPage live={live} />}
        {section === 'room' && <RoomPage onSettings={onSettings} />}
        {section === 'statements' && <StatementsPage />}
        {section === 'account' && <AccountPage me={me} onSignOut={onSignOut} onSignedOut={onSignedOut} />}
      </Container>
      <PanicBar live={isLive} panic={panic} protection={settings?.panicProtection ?? 'none'} broadcastId={live?.broadcast?.id ?? null} />
    </>
  );
}

export function App() {
  const { section, query } = useRoute();
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  useEffect(() => {
    api<{ user: Me; csrfToken: string | null }>('/me')
      .then((r) => { csrf.set(r.csrfToken); setMe(r.user); })
      .catch((err) => { if (err instanceof ApiError && err.status === 401) csrf.set(null); setMe(null); });
  }, []);

  const signOut = async () => {
    await api('/auth/logout', { method: 'POST', body: {} }).catch(() => undefined);
    csrf.set(null);
    setMe(null);
    navigate('live');
  };

  return (
    <>
      <Link href="#main" sx={{ position: 'absolute', left: -9999, '&:focus': { left: 8, top: 8, zIndex: 2000, bgcolor: 'background.paper', p: 1 } }}>{t('studio.skipToContent')}</Link>
      <AppBar position="static" color="default" elevation={1}>
        <Toolbar sx={{ gap: 1, flexWrap: 'wrap' }}>
          <Typography component="h1" variant="h6" sx={{ flexGrow: 1, fontWeight: 700 }}>{t('common.appName')} {t('studio.title')}</Typography>
          {me && <Typography variant="body2" data-testid="signed-in-as">{t('studio.signedInAs', { handle: me.handle })}</Typography>}
          {me && <Button onClick={() => void signOut()} data-testid="sign-out">{t('common.signOut')}</Button>}
        </Toolbar>
      </AppBar>
      {me === undefined ? (
        <Box sx={{ display: 'grid', placeItems: 'center', p: 6 }} role="status"><CircularProgress aria-label={t('common.loading')} /></Box>
      ) : section === 'reset' && query.get('token') ? (
        <Container component="main" id="main" sx={{ py: 3 }}><ResetConfirm token={query.get('token')!} onDone={() => navigate('live')} /></Container>
      ) : !me ? (
        <Container component="main" id="main" sx={{ py: 3 }}><AuthScreen onSignedIn={(u) => { setMe(u); navigate('live'); }} /></Container>
      ) : me.role !== 'performer' ? (
        <Container component="main" id="main" sx={{ py: 3 }}><Typography role="alert">{t('studio.auth.notPerformer', { role: me.role })}</Typography></Container>
      ) : (
        <Studio me={me} section={section} onSignOut={() => void signOut()} onSignedOut={() => { csrf.set(null); setMe(null); navigate('live'); }} />
      )}
    </>
  );
}
