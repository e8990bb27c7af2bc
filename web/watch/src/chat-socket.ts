/**
 * The chat room's WebSocket (`/chat/<broadcast id>` on this origin; the session cookie signs it in), with the
 * protocol of ingest/chat/protocol.ts, turned into a list of entries the Chat component shows: room messages,
 * the viewer's own messages while they wait for their verdict, and the verdicts the server gives the sender
 * (blocked with the rules, held for review, refused with a code, restricted until a time, support resources).
 * The server answers each post in order, so a verdict settles the oldest message still waiting. The socket
 * reconnects with back-off (1 s … 10 s) while the component is mounted.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

/** Server → client frames (ingest/chat/protocol.ts `ServerMessage`). */
export type ServerMessage =
  | { type: 'hello'; room: string; user: string | null; canPost: boolean; maxLength: number }
  | { type: 'message'; id: string; user: string; text: string; at: string }
  | { type: 'ack'; id: string; verdict: 'allow' | 'flag' }
  | { type: 'held'; id: string; message: string }
  | { type: 'blocked'; id: string; message: string; categories: string[]; rules: string[] }
  | { type: 'refused'; code: string; message: string; retryAfterMs?: number; until?: string | null }
  | { type: 'restricted'; kind: string; until: string | null; reason: string }
  | { type: 'support'; message: string }
  | { type: 'panic_received'; alertId: string; stored: boolean };

/** One line of the chat as shown. `key` is unique and stable. */
export type ChatEntry =
  | { kind: 'message'; key: string; id: string; user: string; text: string; at: string; own: boolean }
  | { kind: 'pending'; key: string; text: string }
  | { kind: 'blocked'; key: string; id: string; text: string; rules: string[]; categories: string[] }
  | { kind: 'held'; key: string; id: string; text: string }
  | { kind: 'refused'; key: string; text: string; code: string; retryAfterMs?: number; until?: string | null }
  | { kind: 'support'; key: string; text: string };

export type ChatStatus = 'connecting' | 'open' | 'reconnecting';
/** A restriction on posting pushed by the server (timeout, mute, ban). */
export interface Restriction { kind: string; until: string | null; reason: string }

const MAX_ENTRIES = 300;

export function useChat(broadcastId: string, myHandle: string) {
  const [entries, setEntries] = useState<ChatEntry[]>([]);
  const [status, setStatus] = useState<ChatStatus>('connecting');
  const [hello, setHello] = useState<{ canPost: boolean; maxLength: number } | null>(null);
  const [restriction, setRestriction] = useState<Restriction | null>(null);
  const ws = useRef<WebSocket | null>(null);
  const seq = useRef(0);
  const nextKey = () => `k${++seq.current}`;

  const onFrame = useCallback((m: ServerMessage) => {
    if (m.type === 'hello') { setHello({ canPost: m.canPost, maxLength: m.maxLength }); return; }
    if (m.type === 'restricted') { setRestriction({ kind: m.kind, until: m.until, reason: m.reason }); return; }
    setEntries((list) => {
      const settle = (make: (pending: Extract<ChatEntry, { kind: 'pending' }> | undefined) => ChatEntry | null): ChatEntry[] => {
        const i = list.findIndex((e) => e.kind === 'pending');
        const pending = i >= 0 ? list[i] as Extract<ChatEntry, { kind: 'pending' }> : undefined;
        const next = make(pending);
        const out = [...list];
        if (i >= 0) { if (next) out[i] = next; else out.splice(i, 1); } else if (next) out.push(next);
        return out.slice(-MAX_ENTRIES);
      };
      switch (m.type) {
        case 'message': {
          if (list.some((e) => (e.kind === 'message') && e.id === m.id)) return list;
          const own = m.user === myHandle;
          const i = own ? list.findIndex((e) => e.kind === 'pending' && e.text === m.text.trim()) : -1;
          const entry: ChatEntry = { kind: 'message', key: i >= 0 ? list[i]!.key : `m${m.id}`, id: m.id, user: m.user, text: m.text, at: m.at, own };
          if (i >= 0) { const out = [...list]; out[i] = entry; return out; }
          return [...list, entry].slice(-MAX_ENTRIES);
        }
        case 'ack':
          if (list.some((e) => e.kind === 'message' && e.id === m.id)) return list;
          return settle((p) => p ? { kind: 'message', key: p.key, id: m.id, user: myHandle, text: p.text, at: new Date().toISOString(), own: true } : null);
        case 'held':
          return settle((p) => ({ kind: 'held', key: p?.key ?? nextKey(), id: m.id, text: p?.text ?? '' }));
        case 'blocked':
          return settle((p) => ({ kind: 'blocked', key: p?.key ?? nextKey(), id: m.id, text: p?.text ?? '', rules: m.rules, categories: m.categories }));
        case 'refused':
          return settle((p) => ({ kind: 'refused', key: p?.key ?? nextKey(), text: p?.text ?? '', code: m.code, retryAfterMs: m.retryAfterMs, until: m.until }));
        case 'support':
          return [...list, { kind: 'support', key: nextKey(), text: m.message } as ChatEntry].slice(-MAX_ENTRIES);
        default:
          return list;
      }
    });
  }, [myHandle]);

  useEffect(() => {
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const open = () => {
      const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat/${broadcastId}`);
      ws.current = socket;
      socket.onopen = () => { attempt = 0; setStatus('open'); };
      socket.onmessage = (ev) => {
        try { onFrame(JSON.parse(String(ev.data)) as ServerMessage); } catch { /* not ours */ }
      };
      socket.onclose = () => {
        if (ws.current === socket) ws.current = null;
        if (stopped) return;
        setStatus('reconnecting');
        // messages still waiting never got a verdict: they were not sent
        setEntries((list) => list.filter((e) => e.kind !== 'pending'));
        timer = setTimeout(open, Math.min(10_000, 1000 * 2 ** attempt++));
      };
    };
    open();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws.current?.close();
      ws.current = null;
    };
  }, [broadcastId, onFrame]);

  /** Sends a message. @returns false when the socket is not open (nothing was sent). */
  const send = useCallback((text: string): boolean => {
    const socket = ws.current;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify({ type: 'message', text }));
    setEntries((list) => [...list, { kind: 'pending', key: nextKey(), text: text.trim() } as ChatEntry].slice(-MAX_ENTRIES));
    return true;
  }, []);

  return { entries, status, hello, restriction, send };
}
