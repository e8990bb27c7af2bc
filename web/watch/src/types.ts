/** Shapes of the API answers the watch page reads (see the API's OpenAPI document at /api/openapi.json). */

/**
 * `GET /api/me` → `user`. `adult`: attested an adult date of birth (the age gate is passed); `birthDateGiven`: a
 * date was given, adult or not (a minor's is kept, and no other can be tried).
 */
export interface Me { id: string; handle: string; email: string | null; role: string; adult: boolean; birthDateGiven?: boolean }

/** `GET /api/live` item. */
export interface LiveBroadcast { id: string; performer: { id: string; handle: string }; startedAt: string }

/** `POST /api/broadcasts/:id/play`. `flvUrl`: a same-origin path or an absolute URL; null when the node serves no HTTP. */
export interface PlayGrant { broadcastId: string; rtmpUrl: string; flvUrl: string | null; expiresAt: string }

/** `GET /api/report-categories` item. */
export interface ReportCategory { code: string; label: string; description: string }

/** `GET /api/reports/mine` item. `outcome` null: not reviewed yet. */
export interface MyReport { id: string; subjectType: 'broadcast' | 'message' | 'user'; subjectId: string; category: string; outcome: string | null; createdAt: string }

/** What a report is about. */
export type ReportSubject =
  | { type: 'broadcast'; id: string }
  | { type: 'message'; id: string; text: string; user: string }
  | { type: 'user'; id: string; handle: string };
