/** Small display helpers: times in the viewer's locale, durations, error messages. */
import { ApiError } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';

/** A date and time in the browser's locale. */
export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '');

/** A time of day in the browser's locale. */
export const clock = (iso: string | number): string => new Date(iso).toLocaleTimeString();

/** `1:02:03` or `2:03` from seconds. */
export function duration(totalS: number): string {
  const s = Math.max(0, Math.floor(totalS));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** The message to show for a failed call. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? t('common.networkError') : err.message;
  return err instanceof Error ? err.message : String(err);
}
