/**
 * The signed-in frame: react-admin's layout with the live connection, the review flow (next case, undo, help),
 * an app bar showing the live status and a "next case" button, and the banner that announces a new critical case.
 */
import type { ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { AppBar, Layout, LoadingIndicator, TitlePortal, ToggleThemeButton } from 'react-admin';
import { Alert, Box, Button, IconButton, Tooltip } from '@mui/material';
import KeyboardIcon from '@mui/icons-material/Keyboard';
import { LiveProvider, useLive } from './live';
import { PanicAlerts } from './alerts';
import { ReviewProvider, useReview } from './review';
import { humanize } from './hooks';
import { Kbd } from './shortcuts';

const STATUS_TEXT = { live: 'Live: the queue updates as cases arrive', connecting: 'Connecting to live updates…', down: 'Live updates are down; retrying' };

function LiveDot() {
  const { status } = useLive();
  const color = status === 'live' ? '#4caf50' : status === 'connecting' ? '#ffb300' : '#f44336';
  return (
    <Tooltip title={STATUS_TEXT[status]}>
      <Box data-testid="live-status" data-status={status} sx={{ display: 'flex', alignItems: 'center', gap: 0.75, mx: 1, fontSize: '0.75rem' }}>
        <Box sx={{ width: 9, height: 9, borderRadius: '50%', bgcolor: color, boxShadow: status === 'live' ? `0 0 0 3px ${color}44` : 'none' }} />
        <Box component="span" sx={{ display: { xs: 'none', md: 'inline' } }}>{status === 'live' ? 'live' : status}</Box>
      </Box>
    </Tooltip>
  );
}

function Toolbar() {
  const { next, showHelp } = useReview();
  return (
    <>
      <LiveDot />
      <Button color="inherit" onClick={() => void next()} data-testid="next-case" sx={{ mx: 0.5, whiteSpace: 'nowrap' }}>
        Next case&nbsp;<Kbd>n</Kbd>
      </Button>
      <Tooltip title="Keyboard shortcuts (?)"><IconButton color="inherit" onClick={showHelp} aria-label="keyboard shortcuts"><KeyboardIcon /></IconButton></Tooltip>
      <ToggleThemeButton />
      <LoadingIndicator />
    </>
  );
}

function WardenAppBar() {
  return (
    <AppBar toolbar={<Toolbar />}>
      <TitlePortal variant="body1" sx={{ fontWeight: 600 }} />
    </AppBar>
  );
}

/** Announces a new critical case until the moderator opens or dismisses it. */
function CriticalBanner() {
  const { critical, acknowledge } = useLive();
  const navigate = useNavigate();
  if (!critical) return null;
  return (
    <Alert severity="error" variant="filled" data-testid="critical-banner" sx={{ mb: 1, mt: 1, alignItems: 'center' }}
      action={<>
        <Button color="inherit" onClick={() => { acknowledge(); navigate(`/cases/${critical.id}`, { state: { claim: true } }); }}>Open</Button>
        <Button color="inherit" onClick={acknowledge}>Dismiss</Button>
      </>}>
      New critical case: {humanize(critical.reason)} ({critical.queue} queue). Open it, or press <Kbd>n</Kbd> for the most urgent case.
    </Alert>
  );
}

/** The console's layout (see module doc). */
export function WardenLayout({ children }: { children: ReactNode }) {
  return (
    <LiveProvider>
      <ReviewProvider>
        <Layout appBar={WardenAppBar} appBarAlwaysOn sx={{ '& .RaLayout-content': { px: { xs: 1, md: 1.5 }, pb: 6, minWidth: 0 } }}>
          <PanicAlerts />
          <CriticalBanner />
          {children}
        </Layout>
      </ReviewProvider>
    </LiveProvider>
  );
}
