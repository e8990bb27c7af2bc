/**
 * The panels around a case's evidence: chat context (the flagged message highlighted), the subject's history
 * (strike points, bans, recent actions), reports joined to the case, the appeal, the case's audit trail and its
 * statement of reasons once decided. Also used by the user page (audit entries, statements).
 */
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Box, Card, CardContent, Chip, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import { ago, humanize, short, when } from '../hooks';
import type { AuditEntry, BanRow, CaseDetail, ChatLine, Statement } from '../types';

/** A titled card section. */
export function Section({ title, extra, children, testId }: { title: string; extra?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <Card data-testid={testId}>
      <CardContent>
        <Box sx={{ display: 'flex', alignItems: 'baseline', gap: 1, mb: 0.75 }}>
          <Typography variant="subtitle2">{title}</Typography>
          {extra && <Typography variant="caption" color="text.secondary" component="div">{extra}</Typography>}
        </Box>
        {children}
      </CardContent>
    </Card>
  );
}

const VERDICT_COLOR: Record<string, 'default' | 'warning' | 'error' | 'success'> = { allow: 'default', flag: 'warning', hold: 'warning', block: 'error' };

/** Chat messages around the flagged one. */
export function ChatContext({ chat }: { chat: ChatLine[] }) {
  return (
    <Section title="Chat context" extra={`${chat.length} messages`} testId="chat-context">
      <Box sx={{ maxHeight: 260, overflow: 'auto', display: 'flex', flexDirection: 'column', gap: 0.25 }}>
        {chat.map((m) => (
          <Box key={m.id} data-testid="chat-line" data-highlight={m.highlight ? 'true' : 'false'} sx={{
            display: 'grid', gridTemplateColumns: '52px 92px 1fr auto', gap: 0.75, alignItems: 'baseline', px: 0.5, py: 0.25, borderRadius: 0.5, fontSize: '0.8rem',
            ...(m.highlight ? { bgcolor: 'rgba(255, 193, 7, 0.25)', outline: '1px solid', outlineColor: 'warning.main', fontWeight: 600 } : {}),
          }}>
            <Box component="span" sx={{ color: 'text.secondary', fontSize: '0.7rem' }}>{new Date(m.createdAt).toLocaleTimeString([], { hour12: false })}</Box>
            <Box component="span" sx={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{m.handle ? `@${m.handle}` : 'anonymous'}</Box>
            <Box component="span" sx={{ wordBreak: 'break-word' }}>{m.body}</Box>
            {m.verdict !== 'allow' ? <Chip size="small" label={m.verdict} color={VERDICT_COLOR[m.verdict] ?? 'default'} sx={{ height: 18, fontSize: '0.65rem' }} /> : <span />}
          </Box>
        ))}
      </Box>
    </Section>
  );
}

function banText(b: BanRow): string {
  const until = b.liftedAt ? `lifted ${when(b.liftedAt)}` : b.expiresAt ? `until ${when(b.expiresAt)}` : 'permanent';
  return `${b.kind}${b.scope && b.scope !== 'platform' ? ' (room)' : ''} · ${until}`;
}

/** Strike points, bans and recent actions of the case's user. */
export function SubjectHistory({ history, handle, userId }: { history: NonNullable<CaseDetail['history']>; handle: string | null; userId: string | null }) {
  const activeBans = history.bans.filter((b) => b.active ?? (!b.liftedAt && (!b.expiresAt || new Date(b.expiresAt) > new Date())));
  return (
    <Section title="Subject history" testId="subject-history"
      extra={userId ? <Link to={`/users/${userId}/show`}>{handle ? `@${handle}` : 'user'} ›</Link> : undefined}>
      <Box sx={{ display: 'flex', gap: 1, flexWrap: 'wrap', mb: 1 }}>
        <Chip size="small" data-testid="strike-points" color={history.strikePoints >= 5 ? 'error' : history.strikePoints > 0 ? 'warning' : 'default'}
          label={`${history.strikePoints} strike point${history.strikePoints === 1 ? '' : 's'}`} />
        <Chip size="small" label={`${history.strikes.length} strike${history.strikes.length === 1 ? '' : 's'}`} variant="outlined" />
        <Chip size="small" label={`${history.bans.length} restriction${history.bans.length === 1 ? '' : 's'}`} variant="outlined" color={activeBans.length ? 'error' : 'default'} />
      </Box>
      {history.bans.slice(0, 5).map((b) => (
        <Typography key={b.id} variant="caption" component="div" color={activeBans.includes(b) ? 'error' : 'text.secondary'}>• {banText(b)}{b.reason ? ` — ${humanize(b.reason)}` : ''}</Typography>
      ))}
      {history.recentActions.length > 0 && <AuditTable entries={history.recentActions.slice(0, 8)} compact testId="history-action" />}
    </Section>
  );
}

/** Reports joined to the case. */
export function ReportsPanel({ reports }: { reports: CaseDetail['reports'] }) {
  return (
    <Section title="Reports" extra={`${reports.length}`} testId="case-reports">
      {reports.map((r) => (
        <Box key={r.id} sx={{ mb: 0.5 }}>
          <Typography variant="body2"><b>@{r.reporter.handle}</b> · {humanize(r.category)} <Typography component="span" variant="caption" color="text.secondary">{ago(r.createdAt)}</Typography></Typography>
          {r.note && <Typography variant="caption" color="text.secondary" component="div" sx={{ wordBreak: 'break-word' }}>“{r.note}”</Typography>}
        </Box>
      ))}
    </Section>
  );
}

/** An appeal case: the user's words and the decision appealed. */
export function AppealPanel({ appeal }: { appeal: NonNullable<CaseDetail['appeal']> }) {
  return (
    <Section title="Appeal" extra={appeal.status} testId="appeal-panel">
      <Typography variant="body2" sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', mb: 1 }}>“{appeal.body}”</Typography>
      <Typography variant="caption" color="text.secondary" component="div">
        Original decision{appeal.originalDecidedBy ? ` by @${appeal.originalDecidedBy.handle}` : ''}
        {appeal.originalCaseId && <> · <Link to={`/cases/${appeal.originalCaseId}`}>open the original case</Link></>}
      </Typography>
      {appeal.statement && <StatementBody s={appeal.statement} />}
    </Section>
  );
}

/** Audit entries as a compact table (seq, time, action, actor, subject, hash / previous hash). */
export function AuditTable({ entries, compact, testId = 'audit-entry' }: { entries: AuditEntry[]; compact?: boolean; testId?: string }) {
  return (
    <Box sx={{ overflowX: 'auto' }}>
      <Table size="small" sx={{ '& td, & th': { fontSize: '0.75rem', py: '2px' } }}>
        {!compact && (
          <TableHead><TableRow><TableCell>#</TableCell><TableCell>When</TableCell><TableCell>Action</TableCell><TableCell>Actor</TableCell><TableCell>Subject</TableCell><TableCell>Hash</TableCell></TableRow></TableHead>
        )}
        <TableBody>
          {entries.map((a) => (
            <TableRow key={a.id} data-testid={testId} data-action={a.action} data-seq={a.seq ?? ''}>
              {!compact && <TableCell sx={{ fontVariantNumeric: 'tabular-nums' }}>{a.seq ?? a.id}</TableCell>}
              <TableCell sx={{ whiteSpace: 'nowrap' }} title={when(a.createdAt)}>{compact ? ago(a.createdAt) : when(a.createdAt)}</TableCell>
              <TableCell><b>{a.action}</b>{a.shadow ? ' (shadow)' : ''}</TableCell>
              <TableCell sx={{ whiteSpace: 'nowrap' }}>{a.actorHandle ? `@${a.actorHandle}` : a.actorType === 'rule' || a.actorType === 'system' ? (a.ruleId ?? a.actorType) : short(a.actorId)}</TableCell>
              {!compact && <TableCell sx={{ whiteSpace: 'nowrap' }}>{a.subjectType} {short(a.subjectId)}</TableCell>}
              {!compact && <TableCell sx={{ fontFamily: 'ui-monospace, monospace', whiteSpace: 'nowrap' }} title={`hash ${a.hash ?? ''}\nprev ${a.prevHash ?? ''}`}>{short(a.hash)}</TableCell>}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Box>
  );
}

/** The text of a statement of reasons. */
export function StatementBody({ s }: { s: Statement }) {
  return (
    <Box sx={{ fontSize: '0.8rem', mt: 0.5, '& dt': { fontWeight: 600, color: 'text.secondary', fontSize: '0.72rem', textTransform: 'uppercase', mt: 0.75 }, '& dd': { m: 0, wordBreak: 'break-word' } }} component="dl">
      <dt>Decision</dt><dd>{humanize(s.decision)} · {humanize(s.reasonCode)}{s.withdrawnAt ? ` — withdrawn ${when(s.withdrawnAt)}` : ''}</dd>
      <dt>Facts</dt><dd>{s.facts}</dd>
      <dt>Ground</dt><dd>{s.ground.description}{s.ground.rule ? ` (rule ${s.ground.rule}, policy ${s.ground.policyVersion ?? '?'})` : ''}</dd>
      <dt>Automation</dt><dd>detected {s.automatedDetection ? 'automatically' : 'by people'}; decided {s.automatedDecision ? 'automatically' : 'by a moderator'}</dd>
      {s.restriction && <><dt>Restriction</dt><dd>{s.restriction.kind}{s.restriction.until ? ` until ${when(s.restriction.until)}` : ''}</dd></>}
      <dt>Redress</dt><dd>{s.redress}{s.appealableUntil ? ` (appeal until ${when(s.appealableUntil)})` : ''}</dd>
    </Box>
  );
}

/** The statement of reasons of a decided case. */
export function StatementPanel({ statement }: { statement: Statement }) {
  return (
    <Section title="Statement of reasons" extra={`issued ${when(statement.createdAt)}`} testId="statement-of-reasons">
      <StatementBody s={statement} />
    </Section>
  );
}
