/** api/: the hono app. */
export { createApi, type ApiDeps } from './app.ts';
