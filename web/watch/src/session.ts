/**
 * The signed-in viewer: `GET /api/me` once at start (null when signed out: 401), refreshed after signing in, the
 * age gate and signing out. The session itself is the HttpOnly cookie; the CSRF token goes to web/common/api.ts.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, csrf } from '../../common/api.ts';
import type { Me } from './types.ts';

/** `me` undefined while loading, null when signed out. `error`: the last failure other than 401. */
export function useMe(): { me: Me | null | undefined; error: ApiError | null; reload: () => Promise<void>; signOut: () => Promise<void> } {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const reload = useCallback(async () => {
    try {
      const r = await api<{ user: Me; csrfToken: string | null }>('/me');
      csrf.set(r.csrfToken);
      setMe(r.user);
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { csrf.set(null); setMe(null); setError(null); } else setError(err as ApiError);
    }
  }, []);
  const signOut = useCallback(async () => {
    await api('/auth/logout', { method: 'POST', body: {} }).catch(() => undefined);
    csrf.set(null);
    setMe(null);
  }, []);
  useEffect(() => { void reload(); }, [reload]);
  return { me, error, reload, signOut };
}
