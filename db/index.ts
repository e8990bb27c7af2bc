/** db/: the schema, migrations and every query. Nothing outside this folder writes SQL. */
export { connectDatabase, ensureDatabase, dropDatabase, runMigrations, redactUrl, type Database, type Db, type Tx } from './connect.ts';
export * as schema from './schema.ts';
export type { Priority, Role, CaseSubjectType } from './schema.ts';
export * from './queries/accounts.ts';
export * from './queries/broadcasts.ts';
export * from './queries/samples.ts';
export * from './queries/moderation.ts';
export * from './queries/reports.ts';
export * from './queries/chat.ts';
export * from './queries/review.ts';
export * from './queries/people.ts';
export * from './queries/stats.ts';
export * from './queries/audit.ts';
export * from './queries/sessions.ts';
export * from './queries/alerts.ts';
export * from './queries/viewers.ts';
export * from './queries/verification.ts';
export * from './queries/account-security.ts';
