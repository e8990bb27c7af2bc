/** ingest/chat: the chat gateway (WebSocket rooms with moderation before fan-out). */
export { ChatGateway, MAX_FRAME_BYTES, type ChatGatewayDeps } from './gateway.ts';
export { ChatLimits, type GateAnswer } from './limits.ts';
export { parseClientMessage, type ClientMessage, type ServerMessage, type RefusalCode } from './protocol.ts';
export { connectChat, type ChatClient } from './client.ts';
