/**
 * Ages from dates of birth, for the publish gate's verification and the viewer age gate. Dates are calendar
 * dates `YYYY-MM-DD`; "today" is the UTC date (one rule for every node, whatever its time zone).
 */
import { z } from 'zod';

/** Years someone must be, on the day (UTC), to broadcast or to watch. */
export const ADULT_AGE = 18;

/** `YYYY-MM-DD` of a time, in UTC. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/**
 * Whole years between a date of birth and a day, both `YYYY-MM-DD` (calendar arithmetic: someone born on
 * 29 February is a year older on 1 March in other years).
 */
export function ageOn(birthDate: string, day: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** A real calendar date `YYYY-MM-DD` (no 30 February), from 1900 on. */
export const calendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => { const d = new Date(`${s}T00:00:00Z`); return !Number.isNaN(d.getTime()) && utcDay(d) === s; }, 'not a real calendar date')
  .refine((s) => s >= '1900-01-01', 'must be 1900-01-01 or later');

/** A date of birth: a real calendar date from 1900 to today (UTC). */
export const birthDate = calendarDate.refine((s) => s <= utcDay(new Date()), 'must not be in the future');
