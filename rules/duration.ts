/** Durations in policy files: "500ms", "30s", "5m", "2h", "90d" or a number of seconds. */
import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "500ms", "30s", "5m", "2h", "90d" or a number of seconds to milliseconds; null when malformed. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  if (typeof value !== 'string') return null;
  const m = DURATION_RE.exec(value.trim());
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) : null;
}

/** A zod schema accepting a duration and giving milliseconds (positive unless `allowZero`). */
export const duration = (allowZero: boolean) =>
  z.unknown().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null || (!allowZero && ms === 0)) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `expected a ${allowZero ? '' : 'positive '}duration like "500ms", "30s", "5m", "2h" or a number of seconds`,
      });
      return z.NEVER;
    }
    return ms;
  });

