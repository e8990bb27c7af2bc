/** moderation/: the only writer of cases, actions (the audit log) and enforcement. */
export { Enforcer, defaultSlaMinutes, enforcementChannel, type EnforcementMessage, type DecisionContext, type EnforcementResult } from './enforcer.ts';
export { ChatModeration, mirrorRestriction, restrictionKey, type ChatMessageRecord, type Restriction } from './chat.ts';
