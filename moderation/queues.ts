/**
 * Review queues and who may work them. Every case sits in one queue: `general`, a policy queue (e.g.
 * `minor_safety`, chosen by the reason code covering the case's reason; it may need a permission), or
 * `appeals` (senior moderators and admins only, so an appeal is never decided by a junior colleague).
 */
import type { Role } from '../db/index.ts';
import { queueFor, type ModerationPolicy } from '../rules/moderation-policy.ts';

/** The signed-in moderator as the review rules see them. */
export interface Moderator { userId: string; role: Role; permissions: readonly string[] }

export const GENERAL_QUEUE = 'general';
export const APPEALS_QUEUE = 'appeals';

const SENIOR: readonly Role[] = ['senior_moderator', 'admin'];

/** Every queue with its label and the permission it needs (null: every moderator). */
export function allQueues(policy: ModerationPolicy): { name: string; label: string; permission: string | null; seniorOnly: boolean }[] {
  return [
    { name: GENERAL_QUEUE, label: 'General', permission: null, seniorOnly: false },
    ...policy.queues.map((q) => ({ name: q.name, label: q.label, permission: q.permission, seniorOnly: false })),
    { name: APPEALS_QUEUE, label: 'Appeals', permission: null, seniorOnly: true },
  ];
}

/** Whether a user may see and work a queue. Senior moderators and admins may work every queue. */
export function mayAccessQueue(policy: ModerationPolicy, user: Moderator, queue: string): boolean {
  if (SENIOR.includes(user.role)) return true;
  if (user.role !== 'moderator') return false;
  const q = allQueues(policy).find((x) => x.name === queue);
  if (!q) return queue === GENERAL_QUEUE;
  return !q.seniorOnly && (q.permission === null || user.permissions.includes(q.permission));
}

/** The queues a user may work. */
export function accessibleQueues(policy: ModerationPolicy, user: Moderator): string[] {
  return allQueues(policy).map((q) => q.name).filter((name) => mayAccessQueue(policy, user, name));
}

/** The queue for a case opened with this reason (`appeal` reasons go to appeals). */
export function queueOfReason(policy: ModerationPolicy, reason: string): string {
  return reason === 'appeal' ? APPEALS_QUEUE : queueFor(policy, reason);
}
