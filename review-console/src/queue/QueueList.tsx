/**
 * The review queue: most urgent first (the API's order), counts per priority, live SLA countdowns, a queue and
 * status filter, live refresh from server-sent events (new rows flash), and keyboard navigation: `j` / `k`
 * move, `Enter` opens and claims, `n` takes the next case.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { Title, useGetList, useStore } from 'react-admin';
import {
  Box, Button, Card, LinearProgress, MenuItem, Table, TableBody, TableCell, TableHead, TableRow, TextField, Tooltip, Typography, useMediaQuery,
} from '@mui/material';
import PhotoIcon from '@mui/icons-material/PhotoLibraryOutlined';
import FlagIcon from '@mui/icons-material/OutlinedFlag';
import LockIcon from '@mui/icons-material/Lock';
import { ago, humanize, useMe, useQueues } from '../hooks';
import { useNow } from '../live';
import { useReview } from '../review';
import { Kbd, useShortcuts } from '../shortcuts';
import { PRIORITY_COLORS, PriorityChip, SlaClock } from '../ui';
import { PRIORITIES, type CaseSummary, type Priority } from '../types';

const PER_PAGE = 50;
type StatusFilter = 'unresolved' | 'open' | 'claimed' | 'mine' | 'resolved';
interface QueueFilter { status: StatusFilter; queue: string; priority: Priority | '' }
const STATUS_LABELS: Record<StatusFilter, string> = { unresolved: 'Unresolved', open: 'Unclaimed', claimed: 'Claimed', mine: 'Claimed by me', resolved: 'Resolved' };

/** The queue page (resource `cases`, list view). */
export function QueueList() {
  const navigate = useNavigate();
  const me = useMe();
  const queues = useQueues();
  const { next } = useReview();
  const wide = useMediaQuery('(min-width:1280px)');
  const [filter, setFilter] = useStore<QueueFilter>('warden.queue.filter', { status: 'unresolved', queue: '', priority: '' });
  const [page, setPage] = useState(1);
  const apiFilter = {
    status: filter.status === 'mine' ? 'unresolved' : filter.status, mine: filter.status === 'mine' || undefined,
    queue: filter.queue || undefined, priority: filter.priority || undefined,
  };
  const { data = [], total = 0, meta, isPending, isFetching, error } = useGetList<CaseSummary>(
    'cases', { pagination: { page, perPage: PER_PAGE }, filter: apiFilter },
    { refetchInterval: 30_000, placeholderData: (prev) => prev },
  );
  const counts = (meta as { counts?: Record<Priority, number> } | undefined)?.counts;

  // rows that arrived after the first load flash for a few seconds
  const seen = useRef<Set<string> | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  useEffect(() => {
    if (isPending) return;
    const ids = data.map((c) => c.id);
    if (seen.current) {
      const added = ids.filter((id) => !seen.current!.has(id));
      if (added.length) {
        setFresh((f) => new Set([...f, ...added]));
        setTimeout(() => setFresh((f) => new Set([...f].filter((id) => !added.includes(id)))), 6000);
      }
    } else seen.current = new Set();
    for (const id of ids) seen.current.add(id);
  }, [data, isPending]);

  const [selected, setSelected] = useState(0);
  useEffect(() => { setSelected((s) => Math.min(s, Math.max(0, data.length - 1))); }, [data.length]);
  const rowRefs = useRef<(HTMLTableRowElement | null)[]>([]);
  useEffect(() => { rowRefs.current[selected]?.scrollIntoView({ block: 'nearest' }); }, [selected]);
  const open = (c: CaseSummary | undefined, claim: boolean) => { if (c) navigate(`/cases/${c.id}`, { state: { claim } }); };
  useShortcuts({
    j: () => setSelected((s) => Math.min(s + 1, data.length - 1)),
    k: () => setSelected((s) => Math.max(s - 1, 0)),
    Enter: () => open(data[selected], true),
  });

  const update = (f: Partial<QueueFilter>) => { setFilter({ ...filter, ...f }); setPage(1); setSelected(0); };
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));

  return (
    <Box sx={{ mt: 1 }}>
      <Title title="Review queue" />
      <Box sx={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 1, mb: 1, pt: 1 }}>
        <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }} data-testid="priority-counts">
          {PRIORITIES.map((p) => (
            <Box key={p} data-testid={`priority-count-${p}`} data-count={counts?.[p] ?? 0} component="span">
              <PriorityChip priority={p} count={counts?.[p] ?? 0} selected={filter.priority ? filter.priority === p : (counts?.[p] ?? 0) > 0}
                onClick={() => update({ priority: filter.priority === p ? '' : p })} />
            </Box>
          ))}
        </Box>
        <Box sx={{ flex: 1 }} />
        <TextField select size="small" variant="outlined" label="Queue" value={filter.queue} onChange={(e) => update({ queue: e.target.value })} sx={{ width: 150 }} margin="none"
          slotProps={{ htmlInput: { 'data-testid': 'queue-filter' }, inputLabel: { shrink: true }, select: { displayEmpty: true } }}>
          <MenuItem value="">All my queues</MenuItem>
          {queues.map((q) => <MenuItem key={q.name} value={q.name}>{q.label}</MenuItem>)}
        </TextField>
        <TextField select size="small" variant="outlined" label="Status" value={filter.status} onChange={(e) => update({ status: e.target.value as StatusFilter })} sx={{ width: 150 }} margin="none">
          {(Object.keys(STATUS_LABELS) as StatusFilter[]).map((s) => <MenuItem key={s} value={s}>{STATUS_LABELS[s]}</MenuItem>)}
        </TextField>
        <Button variant="contained" onClick={() => void next()}>Next case&nbsp;<Kbd>n</Kbd></Button>
      </Box>
      <Card sx={{ position: 'relative' }}>
        {isFetching && <LinearProgress sx={{ position: 'absolute', top: 0, left: 0, right: 0, height: 2 }} />}
        {error ? <Typography color="error" sx={{ p: 2 }}>{(error as Error).message}</Typography> : null}
        <Table size="small" sx={{ tableLayout: 'fixed', width: '100%' }} data-testid="queue-table">
          <TableHead>
            <TableRow>
              <TableCell sx={{ width: 96 }}>Priority</TableCell>
              <TableCell sx={{ width: 118 }}>SLA</TableCell>
              <TableCell>Reason</TableCell>
              <TableCell sx={{ width: 120 }}>User</TableCell>
              {wide && <TableCell sx={{ width: 110 }}>Queue</TableCell>}
              <TableCell sx={{ width: 64 }}>Evid.</TableCell>
              <TableCell sx={{ width: 118 }}>Claimed by</TableCell>
              {wide && <TableCell sx={{ width: 84 }}>Opened</TableCell>}
            </TableRow>
          </TableHead>
          <TableBody>
            {data.map((c, i) => (
              <QueueRow key={c.id} c={c} selected={i === selected} fresh={fresh.has(c.id)} wide={wide} mine={c.claimedBy?.id === me?.id}
                queueLabel={queues.find((q) => q.name === c.queue)?.label ?? c.queue}
                rowRef={(el) => { rowRefs.current[i] = el; }} onClick={() => { setSelected(i); open(c, false); }} />
            ))}
            {!isPending && data.length === 0 && (
              <TableRow><TableCell colSpan={8} sx={{ py: 4, textAlign: 'center', color: 'text.secondary' }} data-testid="queue-empty">
                Nothing here. New cases appear on their own.
              </TableCell></TableRow>
            )}
          </TableBody>
        </Table>
      </Card>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mt: 1, color: 'text.secondary', fontSize: '0.8rem' }}>
        <span data-testid="queue-total">{total} case{total === 1 ? '' : 's'}</span>
        <Box sx={{ flex: 1 }} />
        <span><Kbd>j</Kbd> <Kbd>k</Kbd> move · <Kbd>Enter</Kbd> open and claim · <Kbd>?</Kbd> help</span>
        {pages > 1 && <>
          <Button disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</Button>
          <span>page {page} of {pages}</span>
          <Button disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</Button>
        </>}
      </Box>
    </Box>
  );
}

function QueueRow({ c, selected, fresh, wide, mine, queueLabel, rowRef, onClick }: {
  c: CaseSummary; selected: boolean; fresh: boolean; wide: boolean; mine: boolean; queueLabel: string;
  rowRef: (el: HTMLTableRowElement | null) => void; onClick: () => void;
}) {
  const now = useNow();
  const subject = useMemo(() => `${c.subjectType}${c.reasonType !== 'rule' ? ` · ${c.reasonType}` : ''}`, [c.subjectType, c.reasonType]);
  return (
    <TableRow ref={rowRef} hover selected={selected} onClick={onClick} data-testid="queue-row" data-case-id={c.id} data-priority={c.priority}
      data-status={c.status} aria-selected={selected}
      sx={{
        cursor: 'pointer', height: 46,
        '& > td:first-of-type': { borderLeft: `4px solid ${PRIORITY_COLORS[c.priority]}` },
        ...(selected ? { outline: '2px solid', outlineColor: 'primary.main', outlineOffset: -2 } : {}),
        ...(fresh ? { animation: 'wardenFresh 1.2s ease-in-out 3', '@keyframes wardenFresh': { '50%': { backgroundColor: 'rgba(255, 193, 7, 0.35)' } } } : {}),
      }}>
      <TableCell><PriorityChip priority={c.priority} /></TableCell>
      <TableCell><SlaClock due={c.slaDueAt} resolvedAt={c.resolvedAt} /></TableCell>
      <TableCell sx={{ overflow: 'hidden' }}>
        <Typography variant="body2" noWrap sx={{ fontWeight: 600 }} title={c.reason}>{humanize(c.reason)}</Typography>
        <Typography variant="caption" noWrap component="div" color="text.secondary">{subject}{c.decision ? ` · ${humanize(c.decision)}` : ''}</Typography>
      </TableCell>
      <TableCell sx={{ overflow: 'hidden' }}><Typography variant="body2" noWrap>{c.user ? `@${c.user.handle}` : '—'}</Typography></TableCell>
      {wide && <TableCell sx={{ overflow: 'hidden' }}><Typography variant="body2" noWrap>{queueLabel}</Typography></TableCell>}
      <TableCell>
        <Tooltip title={`${c.evidenceCount} evidence item(s), ${c.reportCount} report(s)`}>
          <Box sx={{ display: 'flex', alignItems: 'center', gap: 0.25, fontSize: '0.8rem', color: 'text.secondary' }}>
            <PhotoIcon sx={{ fontSize: 15 }} />{c.evidenceCount}
            {c.reportCount > 0 && <><FlagIcon sx={{ fontSize: 15, ml: 0.5 }} />{c.reportCount}</>}
          </Box>
        </Tooltip>
      </TableCell>
      <TableCell sx={{ overflow: 'hidden' }} data-testid="row-claimed-by">
        {c.claimedBy && c.status !== 'resolved'
          ? <Typography variant="body2" noWrap sx={{ display: 'flex', alignItems: 'center', gap: 0.25, fontWeight: mine ? 600 : 400 }}><LockIcon sx={{ fontSize: 14 }} />{mine ? 'you' : `@${c.claimedBy.handle}`}</Typography>
          : <Typography variant="body2" color="text.secondary">{c.decidedBy ? `@${c.decidedBy.handle}` : '—'}</Typography>}
      </TableCell>
      {wide && <TableCell><Typography variant="caption" color="text.secondary" noWrap>{ago(c.createdAt, now)}</Typography></TableCell>}
    </TableRow>
  );
}
