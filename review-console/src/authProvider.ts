/**
 * react-admin authProvider over the session API: login (`POST /api/auth/login`, with the TOTP code staff need, or
 * `POST /api/auth/totp/enable` with an enrolment token the first time), logout, the session check
 * (`GET /api/me` on a reload, which also gives back the CSRF token), and roles → permissions. Only moderators,
 * senior moderators and admins may use the console; a 401 anywhere sends the user to the login page.
 */
import type { AuthProvider } from 'react-admin';
import { api, errorStatus, refreshSession, session } from './api';
import { MODERATOR_ROLES, SENIOR_ROLES, type Me, type Permissions } from './types';

/** Resources only senior moderators and admins may open. */
const SENIOR_RESOURCES = new Set(['audit', 'appeals']);

/** True when the signed-in user may open `resource` (menus and routes follow it). */
export function mayOpen(resource: string, role: Me['role'] | undefined): boolean {
  if (!role || !MODERATOR_ROLES.includes(role)) return false;
  return !SENIOR_RESOURCES.has(resource) || SENIOR_ROLES.includes(role);
}

/**
 * What the login page sends: e-mail and password (with `totpCode` once the API asked for it), or, for a staff
 * member setting up two-factor sign-in, the enrolment token from the first answer and the app's code.
 */
export type LoginParams = { email?: string; username?: string; password: string; totpCode?: string } | { enrollmentToken: string; totpCode: string };

export const authProvider: AuthProvider = {
  /**
   * Signs in. @throws HttpError with the API's body: 401 `totp_required` / `totp_invalid` (ask for the code),
   * 403 `totp_enrollment_required` with `enrollmentToken` (set up an authenticator first).
   */
  async login(params: LoginParams) {
    const r = 'enrollmentToken' in params
      ? await api<{ user: Me; csrfToken: string }>('/auth/totp/enable', { method: 'POST', body: { enrollmentToken: params.enrollmentToken, code: params.totpCode } })
      : await api<{ user: Me; csrfToken: string }>('/auth/login', {
        method: 'POST', body: { email: params.email ?? params.username ?? '', password: params.password, ...(params.totpCode ? { totpCode: params.totpCode } : {}) },
      });
    session.set(r.user, r.csrfToken);
    if (!MODERATOR_ROLES.includes(r.user.role)) {
      await api('/auth/logout', { method: 'POST' }).catch(() => undefined);
      session.clear();
      throw new Error('The review console is for moderators; this account cannot use it.');
    }
  },

  async logout() {
    if (session.me || session.csrf) await api('/auth/logout', { method: 'POST' }).catch(() => undefined);
    session.clear();
  },

  async checkAuth() {
    if (session.me) return;
    if (!(await refreshSession())) throw { redirectTo: '/login', message: false };
    if (!MODERATOR_ROLES.includes(session.me!.role)) {
      await authProvider.logout({});
      throw { redirectTo: '/login', message: 'The review console is for moderators.' };
    }
  },

  async checkError(error: unknown) {
    if (errorStatus(error) === 401) {
      session.clear();
      throw { redirectTo: '/login', message: 'Your session has expired; please sign in again.', logoutUser: true };
    }
  },

  async getIdentity() {
    if (!session.me && !(await refreshSession())) throw new Error('not signed in');
    const me = session.me!;
    return { id: me.id, fullName: `@${me.handle}`, role: me.role };
  },

  async getPermissions(): Promise<Permissions | undefined> {
    if (!session.me && !(await refreshSession())) return undefined;
    return { role: session.me!.role, permissions: session.me!.permissions };
  },

  async canAccess({ resource }: { resource: string; action: string }) {
    if (!session.me && !(await refreshSession())) return false;
    return mayOpen(resource, session.me!.role);
  },
};
