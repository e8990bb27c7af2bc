/**
 * Users: a searchable list (handle or e-mail, role) with strike points and any restriction, and a user page
 * with their standing (strikes, bans), cases, statements of reasons and the actions about them, with ban,
 * suspend and (senior moderators) lift buttons.
 */
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { DataTable, List, SearchInput, SelectInput, Title, useGetOne, useNotify } from 'react-admin';
import { Box, Button, Card, CardContent, Chip, LinearProgress, Table, TableBody, TableCell, TableRow, Typography } from '@mui/material';
import { errorMessage } from '../api';
import { AuditTable, Section, StatementBody } from '../case/Panels';
import { humanize, short, stamp, useIsSenior, useWarden, when } from '../hooks';
import { ActionDialog, PriorityChip, SlaClock } from '../ui';
import type { UserDetail, UserRow } from '../types';

const ROLE_CHOICES = ['viewer', 'performer', 'moderator', 'senior_moderator', 'admin'].map((r) => ({ id: r, name: humanize(r) }));
const filters = [<SearchInput key="q" source="q" alwaysOn placeholder="handle or e-mail" />, <SelectInput key="role" source="role" choices={ROLE_CHOICES} />];

function Restriction({ r }: { r: UserRow['restriction'] }) {
  if (!r) return <Typography variant="body2" color="text.secondary">—</Typography>;
  return <Chip size="small" color="error" label={`${r.kind}${r.until ? ` until ${new Date(r.until).toLocaleDateString()}` : ''}`} title={r.reason} />;
}

/** The users list (resource `users`). */
export function UserList() {
  return (
    <List filters={filters} perPage={25} sort={{ field: 'handle', order: 'ASC' }} exporter={false} title="Users">
      <DataTable rowClick="show" bulkActionButtons={false} data-testid="user-list">
        <DataTable.Col source="handle" disableSort render={(u: UserRow) => <b>@{u.handle}</b>} />
        <DataTable.Col source="email" disableSort />
        <DataTable.Col source="role" disableSort render={(u: UserRow) => humanize(u.role)} />
        <DataTable.Col source="strikePoints" label="Strike pts" disableSort />
        <DataTable.Col source="restriction" disableSort render={(u: UserRow) => <Restriction r={u.restriction} />} />
        <DataTable.Col source="createdAt" label="Joined" disableSort render={(u: UserRow) => new Date(u.createdAt).toLocaleDateString()} />
      </DataTable>
    </List>
  );
}

type Pending = 'ban' | 'suspend' | 'lift' | null;

/** A user's page (resource `users`, show view). */
export function UserShow() {
  const { id = '' } = useParams();
  const { data, isPending, error } = useGetOne<UserDetail>('users', { id }, { enabled: !!id });
  const u = data && 'strikes' in data ? data : undefined; // the list seeds the cache with the user's row: wait for the detail
  const senior = useIsSenior();
  const dp = useWarden();
  const notify = useNotify();
  const queryClient = useQueryClient();
  const [pending, setPending] = useState<Pending>(null);

  if (isPending || (!u && !error)) return <LinearProgress sx={{ mt: 2 }} />;
  if (error || !u) return <Typography color="error" sx={{ mt: 2 }}>{errorMessage(error) || 'No such user.'}</Typography>;

  const active = u.bans.filter((b) => b.active ?? (!b.liftedAt && (!b.expiresAt || new Date(b.expiresAt) > new Date())));
  const run = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      notify(what, { type: 'success' });
    } catch (err) {
      notify(errorMessage(err), { type: 'error' });
      throw err;
    } finally {
      await queryClient.invalidateQueries({ queryKey: ['users'] });
      await queryClient.invalidateQueries({ queryKey: ['cases'] });
    }
  };

  return (
    <Box sx={{ mt: 1, display: 'flex', flexDirection: 'column', gap: 1 }} data-testid="user-view">
      <Title title={`@${u.handle}`} />
      <Card>
        <CardContent sx={{ display: 'flex', alignItems: 'center', gap: 1.5, flexWrap: 'wrap' }}>
          <Typography variant="h6" component="h1" sx={{ fontSize: '1.1rem', fontWeight: 600 }}>@{u.handle}</Typography>
          <Chip size="small" label={humanize(u.role)} variant="outlined" />
          <Typography variant="body2" color="text.secondary">{u.email ?? ''} · joined {new Date(u.createdAt).toLocaleDateString()}</Typography>
          <Chip size="small" data-testid="strike-points" color={u.strikePoints > 0 ? 'warning' : 'default'} label={`${u.strikePoints} strike point${u.strikePoints === 1 ? '' : 's'}`} />
          {active.map((b) => <Chip key={b.id} size="small" color="error" label={`${b.kind}${b.expiresAt ? ` until ${when(b.expiresAt)}` : ''}`} data-testid="active-restriction" />)}
          <Box sx={{ flex: 1 }} />
          <Button variant="outlined" color="warning" onClick={() => setPending('suspend')} data-testid="suspend-user">Suspend</Button>
          <Button variant="contained" color="error" onClick={() => setPending('ban')} data-testid="ban-user">Ban</Button>
          {senior && active.length > 0 && <Button variant="outlined" onClick={() => setPending('lift')} data-testid="lift-user">Lift</Button>}
        </CardContent>
      </Card>
      <Box sx={{ display: 'grid', gap: 1, gridTemplateColumns: { xs: '1fr', md: 'minmax(0, 1fr) minmax(0, 1fr)' }, alignItems: 'start' }}>
        <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1, minWidth: 0 }}>
          <Section title="Cases" extra={`${u.cases.length}`} testId="user-cases">
            <Table size="small" sx={{ '& td': { whiteSpace: 'nowrap' } }}><TableBody>
              {u.cases.map((c) => (
                <TableRow key={c.id} hover>
                  <TableCell sx={{ width: 90 }}><PriorityChip priority={c.priority} /></TableCell>
                  <TableCell><Link to={`/cases/${c.id}`}>{humanize(c.reason)}</Link></TableCell>
                  <TableCell>{c.status === 'resolved' ? humanize(c.decision) : <SlaClock due={c.slaDueAt} />}</TableCell>
                  <TableCell sx={{ whiteSpace: 'nowrap', color: 'text.secondary' }}>{stamp(c.createdAt)}</TableCell>
                </TableRow>
              ))}
            </TableBody></Table>
          </Section>
          <Section title="Strikes and restrictions" extra={`${u.strikes.length} strikes, ${u.bans.length} restrictions`}>
            <Table size="small" sx={{ '& td': { whiteSpace: 'nowrap' } }}><TableBody>
              {u.strikes.map((s) => (
                <TableRow key={s.id} sx={{ opacity: s.active === false ? 0.55 : 1 }}>
                  <TableCell>strike {s.weight}</TableCell><TableCell>{humanize(s.reasonCode)}</TableCell>
                  <TableCell>{stamp(s.createdAt)}</TableCell><TableCell>{s.removedAt ? 'withdrawn' : `expires ${stamp(s.expiresAt)}`}</TableCell>
                </TableRow>
              ))}
              {u.bans.map((b) => (
                <TableRow key={b.id} sx={{ opacity: active.includes(b) ? 1 : 0.55 }}>
                  <TableCell>{b.kind}</TableCell><TableCell>{humanize(b.reason)}</TableCell>
                  <TableCell>{stamp(b.startsAt)}</TableCell><TableCell>{b.liftedAt ? `lifted ${stamp(b.liftedAt)}` : b.expiresAt ? `until ${stamp(b.expiresAt)}` : 'permanent'}</TableCell>
                </TableRow>
              ))}
            </TableBody></Table>
          </Section>
        </Box>
        <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1, minWidth: 0 }}>
          <Section title="Statements of reasons" extra={`${u.statements.length}`}>
            {u.statements.map((s) => (
              <Box key={s.id} sx={{ borderBottom: 1, borderColor: 'divider', pb: 0.5, mb: 0.5 }} data-testid="user-statement">
                <Typography variant="caption" color="text.secondary">{when(s.createdAt)} · {short(s.id)}{s.caseId && <> · <Link to={`/cases/${s.caseId}`}>case</Link></>}</Typography>
                <StatementBody s={s} />
              </Box>
            ))}
          </Section>
          <Section title="Actions" extra={`latest ${u.actions.length}`}><AuditTable entries={u.actions} compact /></Section>
        </Box>
      </Box>
      <ActionDialog open={pending === 'ban'} title={`Ban @${u.handle}?`} confirmLabel="Ban" danger chooseReason testId="ban-dialog"
        description="Platform-wide: a live stream ends within a second and chat is blocked. Recorded as a decided case with a statement of reasons."
        onConfirm={(v) => run(`Banned @${u.handle}.`, () => dp.banUser(u.id, { reasonCode: v.reasonCode, note: v.note || undefined }))} onClose={() => setPending(null)} />
      <ActionDialog open={pending === 'suspend'} title={`Suspend @${u.handle}?`} confirmLabel="Suspend" danger chooseReason hours={24 * 7} testId="suspend-dialog"
        description="No broadcasting or chat for the hours below; a live stream ends now."
        onConfirm={(v) => run(`Suspended @${u.handle}.`, () => dp.suspendUser(u.id, { reasonCode: v.reasonCode, hours: v.hours!, note: v.note || undefined }))} onClose={() => setPending(null)} />
      <ActionDialog open={pending === 'lift'} title={`Lift @${u.handle}'s bans and suspensions?`} confirmLabel="Lift" withReason={false} noteRequired testId="lift-dialog"
        onConfirm={(v) => run(`Lifted @${u.handle}'s restrictions.`, () => dp.liftUser(u.id, { note: v.note }))} onClose={() => setPending(null)} />
    </Box>
  );
}
