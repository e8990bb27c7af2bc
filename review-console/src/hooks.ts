/** Shared hooks: the typed data provider, the signed-in user, reason codes and queues (cached), formatting. */
import { useQuery } from '@tanstack/react-query';
import { useDataProvider, usePermissions } from 'react-admin';
import { session } from './api';
import type { WardenDataProvider } from './dataProvider';
import { SENIOR_ROLES, type Me, type Permissions, type ReasonCode } from './types';

/** The data provider with the review methods. */
export function useWarden(): WardenDataProvider {
  return useDataProvider<WardenDataProvider>();
}

/** The signed-in user (set by the auth check before any page renders). */
export function useMe(): Me | null {
  usePermissions<Permissions>(); // re-render once permissions are known
  return session.me;
}

/** True for senior moderators and admins. */
export function useIsSenior(): boolean {
  const { permissions } = usePermissions<Permissions>();
  return !!permissions && SENIOR_ROLES.includes(permissions.role);
}

/** The policy's reason codes (cached for ten minutes). */
export function useReasonCodes(): ReasonCode[] {
  const dp = useWarden();
  const { data } = useQuery({ queryKey: ['reason-codes'], queryFn: () => dp.reasonCodes(), staleTime: 600_000 });
  return data ?? [];
}

/** The queues the user may work (inaccessible ones left out). */
export function useQueues() {
  const dp = useWarden();
  const { data } = useQuery({ queryKey: ['queues'], queryFn: () => dp.queues(), staleTime: 600_000 });
  return (data ?? []).filter((q) => q.accessible);
}

/** `rule.speech.threat` → `speech threat`; `end_stream` → `end stream`. */
export function humanize(s: string | null | undefined): string {
  if (!s) return '';
  return s.replace(/^(rule|manual|report)\./, '').replace(/[._]/g, ' ');
}

/** A short relative time: `12 s ago`, `5 min ago`, `3 h ago`, or a date. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** Local date and time, compact. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** `11/23 06:07:32`: a compact local date and time. */
export function stamp(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.toLocaleDateString([], { month: '2-digit', day: '2-digit' })} ${d.toLocaleTimeString([], { hour12: false })}`;
}

/** The first 8 characters of a hash or id, for display. */
export function short(s: string | null | undefined, n = 8): string {
  return s ? s.slice(0, n) : '—';
}

/** `m:ss` or `h:mm:ss` for a duration in seconds (sign kept). */
export function clock(seconds: number): string {
  const sign = seconds < 0 ? '−' : '';
  let s = Math.abs(Math.trunc(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${pad(m)}:${pad(s)}` : `${sign}${m}:${pad(s)}`;
}
