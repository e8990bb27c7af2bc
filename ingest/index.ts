/** ingest/: the RTMP server, the publish gate, the stream tap and kicking live sessions. */
export { IngestService, type IngestDeps, type PublishEvent } from './service.ts';
export { PublishGate, type GateResult, type RefusalReason } from './gate.ts';
export { generateStreamKey, hashStreamKey, keyPrefix } from './stream-keys.ts';
export { PLAY_APP, PLAY_TOKEN_TTL_S, playPath, playAuthority, publicAuthority, issuePlayToken, consumePlayToken, ingestNodeAddress, ViewerSessions, type PlayGrant, type IngestNodeAddress, type PlayRefusal } from './play-gate.ts';
export { flvAuthority, flvPlayPath } from './play-gate.ts';
export { ViewerCounts, readViewerCounts, viewerCountKey } from './viewer-counts.ts';
export { FLV_PREFIX, FlvPlays, mountBeforeApp } from './flv.ts';
