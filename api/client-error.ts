/**
 * Requests Node's HTTP parser refuses before any route sees them (a request line or headers over the 16 KiB limit,
 * malformed HTTP): answered with the API's JSON error and closed gracefully.
 *
 * Node's default answer writes a bare 431/400 and destroys the socket at once. A client still sending its (huge)
 * request then meets a reset: its writes fail with EPIPE and the answer it was sent is discarded unread, so it saw
 * no answer at all (the fuzz suite's 500 KB chat-upgrade URL did, now and then). Here the answer is written, the
 * socket half-closed, and what the client still sends is read and dropped for up to {@link LINGER_MS} (the
 * "lingering close" of RFC 9112, section 9.6), so the answer arrives.
 */
import type { Duplex } from 'node:stream';

/** How long a refused connection's remaining input is drained before the socket is destroyed (ms). */
export const LINGER_MS = 2000;

const answered = new WeakSet<Duplex>();

/**
 * The HTTP server's 'clientError' listener. 431 `headers_too_large` for HPE_HEADER_OVERFLOW, else 400
 * `malformed_request`; a connection reset or a socket that already sent a response is only destroyed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (answered.has(socket)) return; // the parser reports every later chunk too
  answered.add(socket);
  const sent = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  if (err.code === 'ECONNRESET' || !socket.writable || sent > 0) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'headers_too_large', message: 'the request line and headers are larger than 16 KiB' }
      : { code: 'malformed_request', message: 'not a well-formed HTTP/1.1 request' },
  });
  socket.removeAllListeners('data');
  socket.on('data', () => {}); // drained, unread
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\n`
    + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
