// Maps every failure to a JSON answer with a stable code. Nothing internal (stack, SQL, driver
// messages) reaches the client; unexpected errors are logged in full and answered SYNC_INTERNAL.

import { ERROR_CATALOG, type ErrorCode, isSynclineError, type Logger, SynclineError } from '@syncline/core';
import { classifyPgError } from '@syncline/outbox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

// The framework's refusals, as catalog codes with a message of ours (theirs may quote the URL or body).
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['SYNC_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['SYNC_MALFORMED_JSON', 'the request body is not valid JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['SYNC_PAYLOAD_TOO_LARGE', 'the request body is too large'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['SYNC_MALFORMED_JSON', 'the request body is not valid JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['SYNC_MALFORMED_JSON', 'the request body is not valid JSON'],
  FST_ERR_VALIDATION: ['SYNC_VALIDATION_FAILED', 'the request does not match the API'],
  FST_ERR_MAX_PARAM_LENGTH: ['SYNC_INVALID_ID', 'the id is longer than any id the collections allow'],
};

export function toSynclineError(err: unknown): SynclineError | undefined {
  if (isSynclineError(err)) return err;
  const e = err as FastifyError & { code?: string };
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new SynclineError(mapped[0], mapped[1]);
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new SynclineError('SYNC_MALFORMED_JSON', 'the request body is not valid JSON');
  }
  // Any other refusal of the HTTP framework (a malformed URL, a bad header).
  if (typeof e?.code === 'string' && e.code.startsWith('FST_ERR') && (e.statusCode ?? 500) < 500) {
    return new SynclineError('SYNC_BAD_REQUEST', 'the request is malformed');
  }
  return classifyPgError(err);
}

export function errorBody(err: SynclineError) {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

/**
 * What a log line may say of a failed request: the route pattern (never the URL, whose query string
 * may carry a token), and of the error its type, code and stack frames — never its message or cause,
 * which may quote a value of the request body. Header values are never logged.
 */
function logged(err: unknown, request: FastifyRequest) {
  const e = err as { name?: string; code?: unknown; stack?: string };
  const frames = e?.stack
    ?.split('\n')
    .filter((l) => l.trimStart().startsWith('at '))
    .join('\n');
  return {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    err: { type: e?.name, code: e?.code, frames },
  };
}

export function makeErrorHandler(log: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toSynclineError(err);
    if (known) {
      if (known.status >= 500) log.warn(logged(err, request), known.code);
      return reply.status(known.status).send(errorBody(known));
    }
    log.error(logged(err, request), 'unexpected error');
    const internal = new SynclineError('SYNC_INTERNAL', 'internal error; see the service log');
    return reply.status(ERROR_CATALOG.SYNC_INTERNAL.status).send(errorBody(internal));
  };
}

/** Errors of the HTTP parser, before Fastify has a request: answered in the documented shape too. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new SynclineError('SYNC_HEADERS_TOO_LARGE', 'the request line and headers are too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new SynclineError('SYNC_REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new SynclineError('SYNC_BAD_REQUEST', 'the request is malformed');
  // As Node does: nothing is written where a response was already started on this connection, and the
  // connection is closed either way (never left half-open).
  const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (socket.writable && !started && err.code !== 'ECONNRESET') {
    const body = JSON.stringify(errorBody(e));
    const reason = { 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[e.status] ?? 'Bad Request';
    socket.write(
      `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}
