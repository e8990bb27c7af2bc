/**
 * react-admin dataProvider over the moderation API. Lists map react-admin's pagination and filters to the API's
 * query (`page`, `perPage`, and the filter fields as they are named in the contract); the queue's per-priority
 * counts come back as the list's `meta.counts`. The review actions (claim, release, decide, undo, next case,
 * end a broadcast, ban / suspend / lift a user) and the reference lists (queues, reason codes, stats) are
 * extra methods on the same provider.
 */
import type { DataProvider, GetListParams, GetListResult, RaRecord } from 'react-admin';
import { api } from './api';
import type {
  CaseDetail, CaseSummary, DecisionResult, Priority, QueueInfo, ReasonCode, Stats, UserDetail,
} from './types';

type Query = Record<string, string | number | boolean | undefined>;

/** Filters of each resource the API understands (anything else the UI keeps to itself is dropped). */
const FILTERS: Record<string, readonly string[]> = {
  cases: ['status', 'priority', 'reason', 'queue', 'subjectType', 'subjectId', 'userId', 'mine'],
  broadcasts: ['status', 'userId'],
  users: ['q', 'role'],
  appeals: ['status'],
  audit: ['action', 'actorId', 'subjectId', 'userId', 'caseId', 'since', 'until'],
};

/** A date filter value (a Date, `YYYY-MM-DD`, or a local `YYYY-MM-DDTHH:mm`) as an ISO time with offset. */
function isoFilter(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function listQuery(resource: string, params: GetListParams): Query {
  const q: Query = { page: params.pagination?.page ?? 1, perPage: Math.min(params.pagination?.perPage ?? 25, 100) };
  const filter = (params.filter ?? {}) as Record<string, unknown>;
  for (const key of FILTERS[resource] ?? []) {
    let v = filter[key];
    if (key === 'since' || key === 'until') v = isoFilter(v);
    if (key === 'mine') v = v ? 'true' : undefined;
    if (key === 'status' && v === 'all') v = undefined;
    if (v !== undefined && v !== null && v !== '') q[key] = String(v);
  }
  return q;
}

export interface ReviewMethods {
  /** `GET /api/queues`. */
  queues(): Promise<QueueInfo[]>;
  /** `GET /api/reason-codes`. */
  reasonCodes(): Promise<ReasonCode[]>;
  /** `GET /api/stats`. */
  stats(): Promise<Stats>;
  /** Claims (or renews a claim on) a case. */
  claim(id: string): Promise<CaseSummary>;
  /** Releases the user's claim. */
  release(id: string): Promise<CaseSummary>;
  /** Claims the most urgent case the user can take (`POST /api/cases/next`); null when the queue is empty. */
  nextCase(): Promise<CaseSummary | null>;
  /** Decides a case. */
  decide(id: string, d: { action: string; reasonCode: string; note?: string; durationHours?: number }): Promise<DecisionResult>;
  /** Undoes the user's decision within the undo window. */
  undo(id: string): Promise<CaseSummary>;
  /** Ends a live broadcast now. */
  endBroadcast(id: string, d: { reasonCode: string; note?: string }): Promise<unknown>;
  /** Bans a user platform-wide. */
  banUser(id: string, d: { reasonCode: string; note?: string }): Promise<unknown>;
  /** Suspends a user for `hours`. */
  suspendUser(id: string, d: { reasonCode: string; hours: number; note?: string }): Promise<unknown>;
  /** Lifts a user's bans and suspensions (senior moderators). */
  liftUser(id: string, d: { note: string }): Promise<unknown>;
}

export type WardenDataProvider = DataProvider & ReviewMethods;

const unsupported = (what: string) => () => Promise.reject(new Error(`the console does not ${what} records directly`));

export const dataProvider: WardenDataProvider = {
  async getList<R extends RaRecord>(resource: string, params: GetListParams): Promise<GetListResult<R>> {
    const r = await api<{ data: R[]; total: number; counts?: Record<Priority, number> }>(`/${resource}`, { query: listQuery(resource, params), signal: params.signal });
    return { data: r.data, total: r.total, meta: r.counts ? { counts: r.counts } : undefined };
  },

  async getOne(resource, params) {
    const id = encodeURIComponent(String(params.id));
    if (resource === 'users') {
      const r = await api<{ user: Omit<UserDetail, 'strikePoints' | 'strikes' | 'bans' | 'actions' | 'statements' | 'cases'> } & Omit<UserDetail, 'id' | 'handle' | 'email' | 'role' | 'createdAt'>>(`/users/${id}`, { signal: params.signal });
      const { user, ...rest } = r;
      return { data: { ...rest, ...user } as unknown as never };
    }
    if (resource === 'cases') return { data: (await api<CaseDetail>(`/cases/${id}`, { signal: params.signal })) as unknown as never };
    return { data: await api(`/${resource}/${id}`, { signal: params.signal }) as never };
  },

  async getMany(resource, params) {
    const data = await Promise.all(params.ids.map((id) => dataProvider.getOne(resource, { id }).then((r) => r.data)));
    return { data };
  },

  async getManyReference(resource, params) {
    const filter = { ...params.filter, [params.target]: params.id };
    return dataProvider.getList(resource, { ...params, filter });
  },

  create: unsupported('create'),
  update: unsupported('update'),
  updateMany: unsupported('update'),
  delete: unsupported('delete'),
  deleteMany: unsupported('delete'),

  queues: () => api<QueueInfo[]>('/queues'),
  reasonCodes: () => api<ReasonCode[]>('/reason-codes'),
  stats: () => api<Stats>('/stats'),
  claim: (id) => api<CaseSummary>(`/cases/${encodeURIComponent(id)}/claim`, { method: 'POST' }),
  release: (id) => api<CaseSummary>(`/cases/${encodeURIComponent(id)}/release`, { method: 'POST' }),
  async nextCase() {
    try {
      return await api<CaseSummary>('/cases/next', { method: 'POST' });
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      if (!/^no route/.test((err as Error).message)) return null; // the queue is empty
    }
    // a server without /cases/next: claim the most urgent open case ourselves (the list is in urgency order)
    const open = await api<{ data: CaseSummary[] }>('/cases', { query: { status: 'open', perPage: 20 } });
    for (const c of open.data) {
      try { return await dataProvider.claim(c.id); } catch { /* taken meanwhile: try the next */ }
    }
    return null;
  },
  decide: (id, d) => api<DecisionResult>(`/cases/${encodeURIComponent(id)}/decision`, { method: 'POST', body: d }),
  undo: (id) => api<CaseSummary>(`/cases/${encodeURIComponent(id)}/undo`, { method: 'POST' }),
  endBroadcast: (id, d) => api(`/broadcasts/${encodeURIComponent(id)}/end`, { method: 'POST', body: d }),
  banUser: (id, d) => api(`/users/${encodeURIComponent(id)}/ban`, { method: 'POST', body: d }),
  suspendUser: (id, d) => api(`/users/${encodeURIComponent(id)}/suspend`, { method: 'POST', body: d }),
  liftUser: (id, d) => api(`/users/${encodeURIComponent(id)}/lift`, { method: 'POST', body: d }),
};
