/** ingest/chat: the chat gateway (WebSocket rooms with moderation before fan-out). */
export { ChatGateway, MAX_FRAME_BYTES, type ChatGatewayDeps } from './gateway.ts';
export { ChatLimits, postsChannel, type ChatLimitsOptions, type GateAnswer, type GateLimits } from './limits.ts';
export { NearCache, type NearCacheOptions } from './near-cache.ts';
export { parseClientMessage, type ClientMessage, type ServerMessage, type RefusalCode } from './protocol.ts';
export { connectChat, type ChatClient } from './client.ts';
