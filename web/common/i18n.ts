/**
 * Text for the web apps, kept in one place (web/i18n/<locale>/) ready for translation: components never hold
 * user-facing strings, they call `t('studio.panic.button')`. Messages may have `{name}` placeholders.
 * A missing key shows the key itself (and warns once), so a gap is visible instead of blank.
 */
import { en } from '../i18n/en/index.ts';

export type Messages = typeof en;
type Leaves<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];
/** Every message key, e.g. `common.signIn`. */
export type MessageKey = Leaves<Messages>;

const locales: Record<string, Messages> = { en };
let current: Messages = en;
const warned = new Set<string>();

/** Chooses the locale (falls back to English). @returns the locale in use. */
export function setLocale(tag: string): string {
  const base = tag.toLowerCase().split('-')[0]!;
  current = locales[base] ?? en;
  document.documentElement.lang = locales[base] ? base : 'en';
  return document.documentElement.lang;
}

/** The message for `key` with `{name}` placeholders filled from `vars`. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  let node: unknown = current;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (typeof node !== 'string') {
    if (!warned.has(key)) { warned.add(key); console.warn(`i18n: no message ${key}`); }
    return key;
  }
  return node.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
