/**
 * Declared routes: each route of the moderation API is declared once with who may call it and the zod schemas
 * of its params, query, body and response. The declaration does the work (authentication, the role check, input
 * validation with a 400 naming each problem) and also feeds the OpenAPI document (api/openapi.ts), so what is
 * documented is what is enforced, and the role-matrix test can walk every route.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import type { Role } from '../db/index.ts';
import type { AuthEnv, AuthUser } from './auth.ts';

/** Who may call a route: anyone, any signed-in user, or the listed roles. */
export type Access = 'public' | 'signed-in' | readonly Role[];

export type Method = 'get' | 'post' | 'put' | 'delete';

/** A route's declaration. `path` is hono-style relative to `/api` (`/cases/:id`). */
export interface RouteSpec {
  method: Method;
  path: string;
  summary: string;
  /** OpenAPI tag (the resource). */
  tag: string;
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Success response body (documentation only); omitted for non-JSON responses. */
  response?: z.ZodType;
  /** Success status (default 200). */
  status?: number;
  /** Content type of a non-JSON success response (e.g. `audio/wav`, `text/event-stream`). */
  produces?: string;
  /** `cached`: authenticate from the Redis session cache first (the panic button: no Postgres on its path). */
  auth?: 'cached';
}

/** What a handler receives: the parsed inputs and the signed-in user (undefined only on public routes). */
export interface RouteInput<P, Q, B> {
  c: Context<AuthEnv>;
  params: P;
  query: Q;
  body: B;
  user: AuthUser;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** Role sets used across the API. */
export const MODERATORS = ['moderator', 'senior_moderator', 'admin'] as const satisfies readonly Role[];
export const SENIORS = ['senior_moderator', 'admin'] as const satisfies readonly Role[];
export const ADMINS = ['admin'] as const satisfies readonly Role[];

/** Turns zod issues into one message: `path: problem; path: problem`. */
export function describeIssues(error: z.ZodError, what: string): string {
  return error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
}

/** U+0000, or a surrogate without its pair (text that is not valid Unicode). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Where `value` holds text Postgres cannot store: the path (`body.note`, `query.q`) of the first string (or key)
 * with U+0000 (text columns refuse it) or an unpaired surrogate (jsonb refuses its escape; text columns would
 * silently store U+FFFD), with what is wrong; null when all is storable. Such input is refused up front (400)
 * rather than failing a query halfway through a request.
 */
export function unstorableText(value: unknown, at: string, depth = 0): string | null {
  const why = (s: string) => (s.includes('\u0000') ? 'contains a NUL character (U+0000)' : 'contains an unpaired surrogate (not valid Unicode)');
  if (typeof value === 'string') return UNSTORABLE.test(value) ? `${at}: ${why(value)}` : null;
  if (depth > 64 || typeof value !== 'object' || value === null) return null;
  for (const [k, v] of Object.entries(value)) {
    if (UNSTORABLE.test(k)) return `${at}: a field name ${why(k)}`;
    const found = unstorableText(v, `${at}.${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}

function parseWith<T>(schema: z.ZodType<T> | undefined, value: unknown, what: string): T {
  if (!schema) return undefined as T;
  const unstorable = unstorableText(value, what);
  if (unstorable) throw new WardenError('bad_request', unstorable);
  const r = schema.safeParse(value);
  if (!r.success) throw new WardenError('bad_request', describeIssues(r.error, what));
  return r.data;
}

async function readJson(c: Context): Promise<unknown> {
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json')) throw new WardenError('unsupported_media_type', 'send application/json');
  try {
    return await c.req.json();
  } catch {
    throw new WardenError('bad_request', 'the body is not valid JSON');
  }
}

/**
 * Declares routes on a hono app (mounted at `/api`) and remembers their specs.
 * `authenticate` resolves the session (401 without one); role checks follow the spec's `access` (403).
 */
export class ApiRouter {
  readonly specs: RouteSpec[] = [];
  /** @param authenticateCached for routes declared `auth: 'cached'` (default: `authenticate`). */
  constructor(readonly app: Hono<AuthEnv>, private readonly authenticate: MiddlewareHandler<AuthEnv>, private readonly authenticateCached = authenticate) {}

  /**
   * Adds a route. Order of checks: session (401) → role (403) → params, query, body (400/415) → handler.
   * @param handler returns the response (usually `c.json(...)`).
   */
  add<S extends RouteSpec>(
    spec: S,
    handler: (input: RouteInput<Out<S['params']>, Out<S['query']>, Out<S['body']>>) => Promise<Response> | Response,
  ): this {
    this.specs.push(spec);
    const middleware: MiddlewareHandler<AuthEnv>[] = [];
    if (spec.access !== 'public') middleware.push(spec.auth === 'cached' ? this.authenticateCached : this.authenticate);
    if (Array.isArray(spec.access)) {
      const allowed = spec.access as readonly Role[];
      middleware.push(async (c, next) => {
        if (!allowed.includes(c.get('user').role)) throw new WardenError('forbidden', `this needs the role ${allowed.join(' or ')}`);
        await next();
      });
    }
    const run = async (c: Context<AuthEnv>) => {
      const params = parseWith(spec.params, c.req.param(), 'params');
      const query = parseWith(spec.query, c.req.query(), 'query');
      const body = spec.body ? parseWith(spec.body, await readJson(c), 'body') : undefined;
      return handler({ c, params, query, body, user: c.get('user') } as RouteInput<Out<S['params']>, Out<S['query']>, Out<S['body']>>);
    };
    this.app.on([spec.method.toUpperCase()], [spec.path], ...middleware, run);
    return this;
  }
}

// ---- shared schemas ----

/** A uuid path parameter. */
export const uuid = z.uuid({ error: 'not a valid id' });
export const idParams = z.strictObject({ id: uuid });

/** Paging query: `page` from 1, `perPage` 1–100 (default 25). */
export const paging = {
  page: z.coerce.number().int().min(1).default(1),
  perPage: z.coerce.number().int().min(1).max(100).default(25),
};

/** A list response: one page and the total count. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), total: z.int() });

/** A user reference: id and handle. */
export const userRef = z.object({ id: z.string(), handle: z.string() });

/** An ISO 8601 timestamp string in responses. */
export const isoTime = z.string().describe('ISO 8601 time');

/** Serialises a Date (or null) for a response. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
