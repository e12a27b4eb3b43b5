// Maps every failure to a JSON answer with a stable code. Nothing internal (stack, SQL, driver
// messages) reaches the client; unexpected errors are logged in full and answered SYNC_INTERNAL.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, ERROR_CATALOG, isSynclineError, type Logger, SynclineError } from '@syncline/core';
import { classifyPgError } from '@syncline/outbox';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SYNC_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SYNC_MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SYNC_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SYNC_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SYNC_MALFORMED_JSON',
  FST_ERR_VALIDATION: 'SYNC_VALIDATION_FAILED',
};

export function toSynclineError(err: unknown): SynclineError | undefined {
  if (isSynclineError(err)) return err;
  const e = err as FastifyError & { code?: string };
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) {
    const message =
      mapped === 'SYNC_MALFORMED_JSON'
        ? 'the request body is not valid JSON'
        : mapped === 'SYNC_PAYLOAD_TOO_LARGE'
          ? 'the request body is too large'
          : mapped === 'SYNC_UNSUPPORTED_MEDIA_TYPE'
            ? 'send the body as application/json'
            : e.message;
    return new SynclineError(mapped, message);
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new SynclineError('SYNC_MALFORMED_JSON', 'the request body is not valid JSON');
  }
  return classifyPgError(err);
}

export function errorBody(err: SynclineError) {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

export function makeErrorHandler(log: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toSynclineError(err);
    if (known) {
      if (known.status >= 500) log.warn({ err, url: request.url }, known.message);
      return reply.status(known.status).send(errorBody(known));
    }
    log.error({ err, method: request.method, url: request.url }, 'unexpected error');
    const internal = new SynclineError('SYNC_INTERNAL', 'internal error; see the service log');
    return reply.status(ERROR_CATALOG.SYNC_INTERNAL.status).send(errorBody(internal));
  };
}
