/**
 * The OpenAPI 3.1 document, generated from the declared routes (api/route.ts): paths, parameters, request and
 * response bodies come from the same zod schemas that validate requests (converted with zod 4's
 * `z.toJSONSchema`), and each operation names the roles it needs.
 */
import { z } from 'zod';
import type { RouteSpec } from './route.ts';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

/** Query or path parameters from an object schema. */
function parameters(s: z.ZodType | undefined, where: 'query' | 'path'): Json[] {
  if (!s) return [];
  const js = schemaOf(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
    name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema,
  }));
}

const errorBody = {
  type: 'object', required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
};
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Builds the document for the given routes (paths relative to `/api`). */
export function openApiDocument(specs: readonly RouteSpec[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const s of specs) {
    const p = `/api${s.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`;
    const status = String(s.status ?? 200);
    const success: Json = s.produces
      ? { description: 'OK', content: { [s.produces]: {} } }
      : { description: 'OK', ...(s.response ? { content: { 'application/json': { schema: schemaOf(s.response, 'output') } } } : {}) };
    const responses: Json = { [status]: success, 400: errorResponse('invalid input (the message names each problem)') };
    if (s.access !== 'public') {
      responses[401] = errorResponse('not signed in, or the session expired');
      responses[403] = errorResponse('your role may not do this, or the CSRF token is missing (code csrf)');
    }
    if (s.path.includes(':id')) responses[404] = errorResponse('no such resource (or not yours)');
    if (s.method !== 'get') responses[409] = errorResponse('conflict with the current state (e.g. claimed by another moderator)');
    const roles = s.access === 'public' ? 'anyone' : s.access === 'signed-in' ? 'any signed-in user' : (s.access as readonly string[]).join(', ');
    (paths[p] ??= {})[s.method] = {
      summary: s.summary,
      description: `Who: ${roles}.`,
      tags: [s.tag],
      operationId: `${s.method}${s.path.replace(/[:/.-]+(\w)/g, (_m, ch: string) => ch.toUpperCase())}`,
      parameters: [...parameters(s.params, 'path'), ...parameters(s.query, 'query')],
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(s.body, 'input') } } } } : {}),
      responses,
      ...(s.access === 'public' ? { security: [] } : { 'x-roles': s.access === 'signed-in' ? ['any'] : s.access }),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Warden moderation API', version: '1',
      description: 'Sign in with POST /api/auth/login (sets the HttpOnly warden_session cookie and returns a csrfToken). '
        + 'Cookie-authenticated requests that change state must send X-CSRF-Token; `Authorization: Bearer <session token>` needs no CSRF token. '
        + 'Errors are JSON: {"error": {"code", "message"}}.',
    },
    paths,
    components: {
      schemas: { Error: errorBody },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'warden_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    security: [{ session: [] }, { bearer: [] }],
  };
}
