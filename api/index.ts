/** api/: the hono app. */
export { createApi, createAlertService, type ApiDeps } from './app.ts';
export { AlertHub } from './alerts.ts';
export { CaseEventHub, type CaseEvent } from './insights.ts';
export { openApiDocument } from './openapi.ts';
export { answerClientError } from './client-error.ts';
export type { RouteSpec, Access } from './route.ts';
