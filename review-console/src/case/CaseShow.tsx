/**
 * One case: header (priority, reason, subject, SLA clock, who holds the claim, claim / release), decision
 * buttons, evidence, the subject's history, reports, chat context, the statement of reasons once decided and
 * the case's audit trail. Opening a case from the keyboard flow claims it; while the user holds the claim and
 * the tab is visible the claim is renewed every 60 s. Keys: `r` reveal all, `c` claim, `x` release,
 * decision keys (Decisions.tsx), Backspace back to the queue. A verification case shows its document and selfie
 * side by side with the face match (Verification.tsx) in place of the evidence.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Title, useGetOne, useNotify } from 'react-admin';
import { Box, Button, Card, CardContent, Chip, LinearProgress, Typography } from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import LockIcon from '@mui/icons-material/Lock';
import { errorMessage } from '../api';
import { humanize, useMe, useReasonCodes, useWarden, when } from '../hooks';
import { Kbd, useShortcuts } from '../shortcuts';
import { PriorityChip, SlaClock } from '../ui';
import { DecisionPanel } from './Decisions';
import { EvidencePanel } from './Evidence';
import { AppealPanel, AuditTable, ChatContext, ReportsPanel, Section, StatementPanel, SubjectHistory } from './Panels';
import { VerificationPanel, verificationOf } from './Verification';
import type { CaseDetail } from '../types';

const HEARTBEAT_MS = 60_000;

/** The case page (route `/cases/:id`). */
export function CaseShow() {
  const { id = '' } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const notify = useNotify();
  const dp = useWarden();
  const me = useMe();
  const queryClient = useQueryClient();
  useReasonCodes(); // load them before a decision dialog needs them
  const { data, isPending, error, isFetching } = useGetOne<CaseDetail>('cases', { id }, { enabled: !!id, retry: false });
  // the queue list seeds this cache entry with the case's summary: wait for the detail
  const c = data && 'evidence' in data ? data : undefined;
  const mine = !!c && c.status === 'claimed' && c.claimedBy?.id === me?.id;
  const heldByOther = !!c && c.status === 'claimed' && !!c.claimedBy && c.claimedBy.id !== me?.id;

  const refresh = useCallback(() => queryClient.invalidateQueries({ queryKey: ['cases'] }), [queryClient]);
  const claim = useCallback(async (quiet = false) => {
    try {
      await dp.claim(id);
      if (!quiet) notify('Claimed: the case is yours while you work it.', { type: 'info', autoHideDuration: 2000 });
    } catch (err) {
      notify(errorMessage(err), { type: 'warning' });
    }
    await refresh();
  }, [dp, id, notify, refresh]);
  const release = useCallback(async () => {
    try {
      await dp.release(id);
      notify('Released: back in the queue for anyone.', { type: 'info', autoHideDuration: 2000 });
    } catch (err) {
      notify(errorMessage(err), { type: 'warning' });
    }
    await refresh();
  }, [dp, id, notify, refresh]);

  // opened from the keyboard flow (Enter in the queue, the critical banner): claim once it is loaded
  const autoClaimed = useRef<string | null>(null);
  const wantsClaim = !!(location.state as { claim?: boolean } | null)?.claim;
  useEffect(() => {
    if (!c || c.id !== id || !wantsClaim || autoClaimed.current === id) return;
    autoClaimed.current = id;
    if (c.status === 'resolved' || mine) return;
    if (heldByOther) { notify(`Claimed by @${c.claimedBy!.handle}: you can look, not decide.`, { type: 'warning' }); return; }
    void claim(true);
  }, [c, id, wantsClaim, mine, heldByOther, claim, notify]);

  // heartbeat: renew our claim every minute while the tab is visible
  const lastBeat = useRef(Date.now());
  useEffect(() => {
    if (!mine) return;
    lastBeat.current = Date.now();
    const beat = () => {
      if (document.visibilityState !== 'visible') return;
      lastBeat.current = Date.now();
      dp.claim(id).catch((err) => { notify(errorMessage(err), { type: 'warning' }); void refresh(); });
    };
    const t = setInterval(beat, HEARTBEAT_MS);
    const onVisible = () => { if (document.visibilityState === 'visible' && Date.now() - lastBeat.current >= HEARTBEAT_MS) beat(); };
    document.addEventListener('visibilitychange', onVisible);
    return () => { clearInterval(t); document.removeEventListener('visibilitychange', onVisible); };
  }, [mine, id, dp, notify, refresh]);

  const [revealed, setRevealed] = useState<Set<number>>(new Set());
  useEffect(() => setRevealed(new Set()), [id]);
  const frameIds = (c?.evidence ?? []).filter((e) => e.imageUrl).map((e) => e.id);
  const verification = c ? verificationOf(c) : null;
  const toggleAll = () => setRevealed((r) => (frameIds.every((f) => r.has(f)) ? new Set() : new Set(frameIds)));
  const toggleOne = (f: number) => setRevealed((r) => { const n = new Set(r); if (n.has(f)) n.delete(f); else n.add(f); return n; });

  useShortcuts({
    r: toggleAll,
    c: () => { if (c && c.status !== 'resolved' && !heldByOther) void claim(); },
    x: () => { if (mine) void release(); },
    Backspace: () => navigate('/cases'),
  }, !!c);

  if (isPending || (!c && !error)) return <LinearProgress sx={{ mt: 2 }} />;
  if (error || !c) {
    return (
      <Box sx={{ mt: 2 }}>
        <Typography color="error" data-testid="case-error">{errorMessage(error) || 'No such case.'}</Typography>
        <Button onClick={() => navigate('/cases')} startIcon={<ArrowBackIcon />} sx={{ mt: 1 }}>Back to the queue</Button>
      </Box>
    );
  }

  return (
    <Box sx={{ mt: 1, display: 'flex', flexDirection: 'column', gap: 1 }} data-testid="case-view" data-case-id={c.id} data-status={c.status}>
      <Title title={`Case · ${humanize(c.reason)}`} />
      <Card sx={{ position: 'relative' }}>
        {isFetching && <LinearProgress sx={{ position: 'absolute', top: 0, left: 0, right: 0, height: 2 }} />}
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 1 }}>
          <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}>
            <Button size="small" onClick={() => navigate('/cases')} startIcon={<ArrowBackIcon />} sx={{ minWidth: 0 }}>Queue</Button>
            <PriorityChip priority={c.priority} />
            <Typography variant="h6" component="h1" sx={{ fontSize: '1.05rem', fontWeight: 600 }} data-testid="case-reason">{humanize(c.reason)}</Typography>
            <Chip size="small" variant="outlined" label={c.status} data-testid="case-status" />
            <Box sx={{ flex: 1 }} />
            <Typography variant="caption" color="text.secondary">SLA</Typography>
            <SlaClock due={c.slaDueAt} resolvedAt={c.resolvedAt} />
          </Box>
          <Typography variant="body2" color="text.secondary">
            {c.subjectType}{c.user ? <> of <b>@{c.user.handle}</b></> : null} · {c.reasonType} · {c.queue} queue · opened {when(c.createdAt)}
            {c.reportCount ? ` · ${c.reportCount} report${c.reportCount === 1 ? '' : 's'}` : ''}
          </Typography>
          <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}>
            <Box data-testid="claim-holder" data-claimed-by={c.status === 'claimed' ? c.claimedBy?.handle ?? '' : ''} data-mine={mine ? 'true' : 'false'}
              sx={{ display: 'flex', alignItems: 'center', gap: 0.5, fontSize: '0.85rem', fontWeight: 600, color: heldByOther ? 'warning.main' : mine ? 'success.main' : 'text.secondary' }}>
              <LockIcon sx={{ fontSize: 16 }} />
              {c.status === 'resolved' ? 'decided' : mine ? 'claimed by you' : heldByOther ? `claimed by @${c.claimedBy!.handle}` : 'unclaimed'}
              {c.claimExpiresAt && c.status === 'claimed' && <Typography component="span" variant="caption" color="text.secondary">(until {new Date(c.claimExpiresAt).toLocaleTimeString()})</Typography>}
            </Box>
            {c.status !== 'resolved' && !mine && !heldByOther && <Button variant="outlined" onClick={() => void claim()} data-testid="claim-button">Claim&nbsp;<Kbd>c</Kbd></Button>}
            {mine && <Button variant="outlined" color="inherit" onClick={() => void release()} data-testid="release-button">Release&nbsp;<Kbd>x</Kbd></Button>}
            <Box sx={{ flex: 1 }} />
            {frameIds.length > 0 && <Button onClick={toggleAll} data-testid="reveal-all">{frameIds.every((f) => revealed.has(f)) ? 'Hide' : 'Reveal'} evidence&nbsp;<Kbd>r</Kbd></Button>}
          </Box>
          <DecisionPanel detail={c} enabled={!heldByOther} />
        </CardContent>
      </Card>
      <Box sx={{ display: 'grid', gap: 1, gridTemplateColumns: { xs: '1fr', md: 'minmax(0, 3fr) minmax(0, 2fr)' }, alignItems: 'start' }}>
        <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1, minWidth: 0 }}>
          {verification
            ? <VerificationPanel v={verification} />
            : <EvidencePanel evidence={c.evidence} revealed={revealed} onToggle={toggleOne} />}
          {c.chat.length > 0 && <ChatContext chat={c.chat} />}
          {c.statement && <StatementPanel statement={c.statement} />}
        </Box>
        <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1, minWidth: 0 }}>
          {c.appeal && <AppealPanel appeal={c.appeal} />}
          {c.history && <SubjectHistory history={c.history} handle={c.user?.handle ?? null} userId={c.user?.id ?? null} />}
          {c.reports.length > 0 && <ReportsPanel reports={c.reports} />}
          <Section title="Audit trail" extra={`${c.audit.length} entries`} testId="case-audit">
            <AuditTable entries={c.audit} compact />
          </Section>
        </Box>
      </Box>
    </Box>
  );
}
