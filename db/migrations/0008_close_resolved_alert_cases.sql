-- Panic alerts resolved before resolving also closed their case (moderation/alerts.ts) left that critical case open
-- at the top of the queue: close those cases with the alert's resolution, as a resolution does now.
UPDATE "cases" AS c
SET "status" = 'resolved', "decision" = 'resolve_alert', "reason_code" = 'no_violation', "decision_note" = a."resolution",
    "decided_by" = a."resolved_by", "claimed_by" = a."resolved_by", "claim_expires_at" = NULL,
    "resolved_at" = coalesce(a."resolved_at", now()), "updated_at" = now()
FROM "alerts" AS a
WHERE a."case_id" = c."id" AND a."status" = 'resolved' AND c."subject_type" = 'alert' AND c."status" <> 'resolved';
