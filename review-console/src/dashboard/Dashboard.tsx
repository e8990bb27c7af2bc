/**
 * The dashboard (loaded on demand, with recharts): cases per hour stacked by reason over the last 24 h, queue
 * depth per priority, SLA breaches and the median time to decision, from `GET /api/stats`. Refreshes every 30 s
 * and on live case events.
 */
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Title } from 'react-admin';
import { Box, Card, CardContent, LinearProgress, Typography, useTheme } from '@mui/material';
import { Bar, BarChart, CartesianGrid, Cell, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { errorMessage } from '../api';
import { humanize, useWarden } from '../hooks';
import { PRIORITY_COLORS } from '../ui';
import { PRIORITIES, type Stats } from '../types';

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#4e342e', '#558b2f', '#283593', '#9e9d24', '#37474f'];

/** `cases per hour by reason` as chart rows: one per hour of the last 24, one key per reason. */
export function pivotPerHour(rows: Stats['casesPerHour'], now = Date.now()): { rows: Record<string, number | string>[]; reasons: string[] } {
  const reasons = [...new Set(rows.map((r) => r.reason))].sort();
  const start = Math.floor(now / 3_600_000) * 3_600_000 - 23 * 3_600_000;
  const byHour = new Map<number, Record<string, number | string>>();
  for (let i = 0; i < 24; i++) {
    const t = start + i * 3_600_000;
    byHour.set(t, { hour: new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) });
  }
  for (const r of rows) {
    const row = byHour.get(Math.floor(new Date(r.hour).getTime() / 3_600_000) * 3_600_000);
    if (row) row[r.reason] = ((row[r.reason] as number | undefined) ?? 0) + r.count;
  }
  return { rows: [...byHour.values()], reasons };
}

function Figure({ label, value, hint, danger, testId }: { label: string; value: string; hint?: string; danger?: boolean; testId: string }) {
  return (
    <Card data-testid={testId}>
      <CardContent>
        <Typography variant="caption" color="text.secondary">{label}</Typography>
        <Typography variant="h5" sx={{ fontWeight: 700, color: danger ? 'error.main' : 'text.primary', fontVariantNumeric: 'tabular-nums' }}>{value}</Typography>
        {hint && <Typography variant="caption" color="text.secondary">{hint}</Typography>}
      </CardContent>
    </Card>
  );
}

function duration(s: number | null): string {
  if (s === null) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The dashboard page. */
export default function Dashboard() {
  const dp = useWarden();
  const theme = useTheme();
  const { data: stats, error, isPending } = useQuery({ queryKey: ['stats'], queryFn: () => dp.stats(), refetchInterval: 30_000 });
  const perHour = useMemo(() => (stats ? pivotPerHour(stats.casesPerHour) : { rows: [], reasons: [] }), [stats]);
  const depth = useMemo(() => PRIORITIES.map((p) => ({ priority: p, cases: stats?.queueDepth[p] ?? 0 })), [stats]);
  const sla = useMemo(() => {
    if (!stats) return [];
    const b = stats.slaBreaches;
    return [
      ...(b.resolved24h !== undefined ? [{ what: 'on time', cases: Math.max(0, b.resolved24h - b.resolvedLate24h), color: '#2e7d32' }] : []),
      { what: 'late', cases: b.resolvedLate24h, color: '#ef6c00' },
      { what: 'overdue', cases: b.openOverdue, color: '#b71c1c' },
    ];
  }, [stats]);
  const axis = { fontSize: 11, fill: theme.palette.text.secondary };

  return (
    <Box sx={{ mt: 1, display: 'flex', flexDirection: 'column', gap: 1 }} data-testid="dashboard">
      <Title title="Dashboard" />
      {isPending && <LinearProgress />}
      {error && <Typography color="error">{errorMessage(error)}</Typography>}
      {stats && <>
        <Box sx={{ display: 'grid', gap: 1, gridTemplateColumns: { xs: '1fr 1fr', md: 'repeat(4, 1fr)' } }}>
          <Figure testId="stat-open-overdue" label="Open cases past their SLA" value={String(stats.slaBreaches.openOverdue)} danger={stats.slaBreaches.openOverdue > 0} />
          <Figure testId="stat-resolved-late" label="Decided late (24 h)" value={String(stats.slaBreaches.resolvedLate24h)}
            hint={stats.slaBreaches.resolved24h !== undefined ? `of ${stats.slaBreaches.resolved24h} resolved` : undefined} danger={stats.slaBreaches.resolvedLate24h > 0} />
          <Figure testId="stat-median-decision" label="Median time to decision (24 h)" value={duration(stats.medianDecisionSeconds24h)} />
          <Figure testId="stat-decisions" label="Decisions by moderators (24 h)" value={String(stats.decisions24h)} />
        </Box>
        <Box sx={{ display: 'grid', gap: 1, gridTemplateColumns: { xs: '1fr', md: 'repeat(2, minmax(0, 1fr))', lg: 'minmax(0, 2fr) minmax(0, 1fr) minmax(0, 1fr)' } }}>
          <Card data-testid="chart-cases-per-hour" sx={{ gridColumn: { md: '1 / -1', lg: 'auto' } }}>
            <CardContent>
              <Typography variant="subtitle2">Cases per hour by reason (24 h)</Typography>
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={perHour.rows} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke={theme.palette.divider} vertical={false} />
                  <XAxis dataKey="hour" tick={axis} interval={2} />
                  <YAxis allowDecimals={false} tick={axis} />
                  <Tooltip contentStyle={{ background: theme.palette.background.paper, border: `1px solid ${theme.palette.divider}`, fontSize: 12 }} />
                  <Legend wrapperStyle={{ fontSize: 11 }} formatter={(v: string) => humanize(v)} />
                  {perHour.reasons.map((r, i) => <Bar key={r} dataKey={r} name={r} stackId="reason" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />)}
                </BarChart>
              </ResponsiveContainer>
            </CardContent>
          </Card>
          <Card data-testid="chart-queue-depth">
            <CardContent>
              <Typography variant="subtitle2">Queue depth by priority</Typography>
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={depth} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke={theme.palette.divider} vertical={false} />
                  <XAxis dataKey="priority" tick={axis} />
                  <YAxis allowDecimals={false} tick={axis} />
                  <Tooltip contentStyle={{ background: theme.palette.background.paper, border: `1px solid ${theme.palette.divider}`, fontSize: 12 }} />
                  <Bar dataKey="cases" isAnimationActive={false}>
                    {depth.map((d) => <Cell key={d.priority} fill={PRIORITY_COLORS[d.priority]} />)}
                  </Bar>
                </BarChart>
              </ResponsiveContainer>
            </CardContent>
          </Card>
          <Card data-testid="chart-sla">
            <CardContent>
              <Typography variant="subtitle2">SLA (24 h)</Typography>
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={sla} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke={theme.palette.divider} vertical={false} />
                  <XAxis dataKey="what" tick={axis} interval={0} />
                  <YAxis allowDecimals={false} tick={axis} />
                  <Tooltip contentStyle={{ background: theme.palette.background.paper, border: `1px solid ${theme.palette.divider}`, fontSize: 12 }} />
                  <Bar dataKey="cases" isAnimationActive={false}>
                    {sla.map((d) => <Cell key={d.what} fill={d.color} />)}
                  </Bar>
                </BarChart>
              </ResponsiveContainer>
            </CardContent>
          </Card>
        </Box>
      </>}
    </Box>
  );
}
