/**
 * The studio's client-side routes, without a router library: the path under /studio/ is the section, links push
 * history entries, and Back/Forward work (popstate).
 */
import { useEffect, useState } from 'react';

/** The app's base path (Vite's `base`). */
export const BASE = '/studio';

export type Section = 'live' | 'verification' | 'keys' | 'room' | 'statements' | 'account' | 'reset';
export const SECTIONS: readonly Exclude<Section, 'reset'>[] = ['live', 'verification', 'keys', 'room', 'statements', 'account'];

function current(): { section: Section; query: URLSearchParams } {
  const rest = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  const name = rest.replace(/^\/+|\/+$/g, '');
  const section = ((SECTIONS as readonly string[]).includes(name) || name === 'reset' ? name : 'live') as Section;
  return { section, query: new URLSearchParams(window.location.search) };
}

/** Goes to a section (a new history entry). */
export function navigate(section: Section): void {
  const path = section === 'live' ? `${BASE}/` : `${BASE}/${section}`;
  if (window.location.pathname !== path) window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current section and query, updated on navigation. */
export function useRoute(): { section: Section; query: URLSearchParams } {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = () => setRoute(current());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return route;
}
