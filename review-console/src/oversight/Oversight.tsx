/**
 * Senior moderators' pages: appeals (linking to their case) and the audit log (filters by action, actor,
 * subject, user, case and time range; paged; hash and previous hash shown short).
 */
import { Link } from 'react-router';
import { DataTable, DateTimeInput, List, Pagination, SelectInput, TextInput, useListContext } from 'react-admin';
import { Box, Card, Chip, Table, TableBody, TableCell, TableHead, TableRow, Typography, useMediaQuery } from '@mui/material';
import { humanize, short, stamp, when } from '../hooks';
import type { Appeal, AuditEntry } from '../types';

const APPEAL_STATUS = [{ id: 'open', name: 'Open' }, { id: 'upheld', name: 'Upheld' }, { id: 'overturned', name: 'Overturned' }];

/** The appeals list (resource `appeals`). */
export function AppealList() {
  return (
    <List filters={[<SelectInput key="status" source="status" choices={APPEAL_STATUS} alwaysOn />]} filterDefaultValues={{ status: 'open' }} perPage={25} exporter={false} title="Appeals">
      <DataTable rowClick={false} bulkActionButtons={false}>
        <DataTable.Col source="createdAt" label="Filed" disableSort render={(a: Appeal) => when(a.createdAt)} sx={{ whiteSpace: 'nowrap' }} />
        <DataTable.Col source="user" disableSort render={(a: Appeal) => <Link to={`/users/${a.user.id}/show`}>@{a.user.handle}</Link>} />
        <DataTable.Col source="status" disableSort render={(a: Appeal) => <Chip size="small" label={a.status} color={a.status === 'open' ? 'warning' : a.status === 'overturned' ? 'success' : 'default'} />} />
        <DataTable.Col source="body" label="Appeal" disableSort render={(a: Appeal) => (
          <Typography variant="body2" sx={{ display: '-webkit-box', WebkitLineClamp: 2, WebkitBoxOrient: 'vertical', overflow: 'hidden', maxWidth: 520 }} title={a.body}>{a.body}</Typography>
        )} />
        <DataTable.Col source="caseId" label="Case" disableSort render={(a: Appeal) => (a.caseId ? <Link to={`/cases/${a.caseId}`} data-testid="appeal-case-link">Open case</Link> : '—')} />
        <DataTable.Col source="decidedAt" label="Decided" disableSort render={(a: Appeal) => (a.decidedAt ? `${when(a.decidedAt)}${a.decisionNote ? ` — ${a.decisionNote}` : ''}` : '')} />
      </DataTable>
    </List>
  );
}

const auditFilters = [
  <TextInput key="action" source="action" label="Action" alwaysOn sx={{ width: 150 }} />,
  <TextInput key="actorId" source="actorId" label="Actor id" sx={{ width: 150 }} />,
  <TextInput key="subjectId" source="subjectId" label="Subject id" sx={{ width: 150 }} />,
  <TextInput key="userId" source="userId" label="User id" sx={{ width: 150 }} />,
  <TextInput key="caseId" source="caseId" label="Case id" sx={{ width: 150 }} />,
  <DateTimeInput key="since" source="since" label="Since" alwaysOn />,
  <DateTimeInput key="until" source="until" label="Until" />,
];

function AuditRows() {
  const { data = [], isPending } = useListContext<AuditEntry>();
  const wide = useMediaQuery('(min-width:1280px)');
  if (!isPending && data.length === 0) return <Typography sx={{ p: 2 }} color="text.secondary">No entries match.</Typography>;
  const ellipsis = { overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' } as const;
  return (
    <Table size="small" data-testid="audit-log" sx={{ tableLayout: 'fixed', width: '100%', '& td': { fontSize: '0.78rem', ...ellipsis } }}>
      <TableHead>
        <TableRow>
          <TableCell sx={{ width: 56 }}>#</TableCell><TableCell sx={{ width: 128 }}>When</TableCell><TableCell sx={{ width: 124 }}>Action</TableCell>
          <TableCell>Actor</TableCell><TableCell>Subject</TableCell><TableCell sx={{ width: 84 }}>Case</TableCell>
          {wide && <TableCell>Rule / policy</TableCell>}
          <TableCell sx={{ width: 150 }}>Hash ← prev</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {data.map((a) => (
          <TableRow key={a.id} data-testid="audit-entry" data-action={a.action} data-seq={a.seq ?? ''} hover>
            <TableCell sx={{ fontVariantNumeric: 'tabular-nums' }}>{a.seq ?? a.id}</TableCell>
            <TableCell title={when(a.createdAt)}>{stamp(a.createdAt)}</TableCell>
            <TableCell title={a.action}><b>{a.action}</b>{a.shadow && <Chip size="small" label="shadow" sx={{ ml: 0.5, height: 16 }} />}</TableCell>
            <TableCell title={`${a.actorType} ${a.actorId}`}>{a.actorHandle ? `@${a.actorHandle}` : `${a.actorType} ${a.actorType === 'rule' ? (a.ruleId ?? a.actorId) : short(a.actorId)}`}</TableCell>
            <TableCell title={`${a.subjectType} ${a.subjectId}`}>{a.subjectType} {short(a.subjectId)}</TableCell>
            <TableCell>{a.caseId ? <Link to={`/cases/${a.caseId}`} title={a.caseId}>{short(a.caseId)}</Link> : ''}</TableCell>
            {wide && <TableCell title={`${a.ruleId ?? ''} ${a.policyVersion ?? ''}`}>{a.ruleId ? humanize(a.ruleId) : ''}{a.policyVersion ? ` · ${a.policyVersion}` : ''}</TableCell>}
            <TableCell sx={{ fontFamily: 'ui-monospace, monospace' }} title={`hash ${a.hash ?? '—'}\nprev ${a.prevHash ?? '—'}`} data-testid="audit-hash">
              {short(a.hash)} <Box component="span" sx={{ color: 'text.secondary' }}>← {short(a.prevHash)}</Box>
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** The audit log (resource `audit`), newest first. */
export function AuditList() {
  return (
    <List filters={auditFilters} perPage={50} exporter={false} title="Audit log" pagination={<Pagination rowsPerPageOptions={[25, 50, 100]} />} disableSyncWithLocation={false}>
      <Card variant="outlined" sx={{ border: 0 }}><AuditRows /></Card>
    </List>
  );
}
