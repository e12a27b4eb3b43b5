// The search engine port: everything Syncline asks of Elasticsearch or OpenSearch, in the engines'
// common REST vocabulary. Two adapters implement it (elasticsearch.ts, opensearch.ts); nothing else
// imports an engine's client. Every failure an adapter throws is a SearchRequestError.
import { UNTRUSTED_CERTIFICATE } from '@syncline/core';

export type SearchEngineName = 'elasticsearch' | 'opensearch';

/** How long a request may go unanswered (the sink's bulks have their own bound, SYNCLINE_SINK_BULK_TIMEOUT_MS). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A refresh of a freshly loaded index (reindex) may take longer. */
export const SLOW_TIMEOUT_MS = 300_000;
/** How long the start-up check waits for one answer. */
export const CHECK_TIMEOUT_MS = 5_000;

/** One _bulk action's answer, in the order of the request. */
export interface BulkItemResult {
  status: number;
  errorType?: string | undefined;
  reason?: string | undefined;
}

/** A document as a sorted page returns it. */
export interface SearchHit {
  id: string;
  version: number;
  source: Record<string, unknown>;
  /** The sort values (search_after continues from the last hit's). */
  sort: unknown[];
}

export interface IndexBody {
  settings?: Record<string, unknown>;
  mappings?: Record<string, unknown>;
  aliases?: Record<string, Record<string, unknown>>;
}

export interface SearchEngine {
  readonly name: SearchEngineName;
  /** Who answers and that the credentials are accepted: the server's distribution and version. */
  check(): Promise<{ distribution: SearchEngineName; version: string }>;
  /** One _bulk of NDJSON lines (no retry of the engine's client: the caller classifies and retries). */
  bulk(lines: string[], timeoutMs: number): Promise<BulkItemResult[]>;
  /** The real-time version of each id (null when absent), by multi-get. */
  versions(index: string, ids: string[]): Promise<Map<string, number | null>>;
  /** One page of documents in `field` order, missing values last; after = the last hit's sort. */
  sortedPage(index: string, field: string, size: number, after?: unknown[]): Promise<SearchHit[]>;
  count(index: string): Promise<number>;
  refresh(index: string): Promise<void>;
  /** Index names matching a pattern, hidden ones included. */
  indexNames(pattern: string): Promise<string[]>;
  indexExists(index: string): Promise<boolean>;
  /** The physical indexes behind the alias; none when it does not exist. */
  aliasTargets(alias: string): Promise<string[]>;
  /** Creates the index; false when it already existed. */
  createIndex(index: string, body: IndexBody): Promise<boolean>;
  putIndexTemplate(name: string, patterns: string[], template: IndexBody): Promise<void>;
  putMapping(index: string, properties: Record<string, unknown>): Promise<void>;
  putSettings(index: string, settings: Record<string, unknown>): Promise<void>;
  /** Atomically points the alias (as write index) at `add` and away from `remove`. */
  swapAlias(alias: string, add: string, remove: string[]): Promise<void>;
  /** Deletes the index; nothing when it does not exist. */
  deleteIndex(index: string): Promise<void>;
  close(): Promise<void>;
}

export type SearchFailure =
  /** No answer: refused, reset, DNS, timeout. */
  | 'connection'
  /** TLS could not be established: an untrusted certificate or a fingerprint that does not match. */
  | 'tls'
  /** The server answered with an error status. */
  | 'response'
  /** The server is not the engine SYNCLINE_SEARCH_ENGINE names. */
  | 'product';

/** Any failed request to the search engine, whichever adapter made it. */
export class SearchRequestError extends Error {
  readonly failure: SearchFailure;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The engine's error type (index_not_found_exception, ...), when it said one. */
  readonly type: string | undefined;

  constructor(
    failure: SearchFailure,
    message: string,
    details: { status?: number | undefined; type?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'SearchRequestError';
    this.failure = failure;
    this.status = details.status;
    this.type = details.type;
  }
}

/**
 * A client library's failure as the port's, once the adapter knows which kind it is: an answer with an
 * error status (its body's error type kept), or no answer (TLS refusing the server, or anything else).
 */
export function requestFailure(
  engine: string,
  err: Error,
  response?: { statusCode?: number | null | undefined; body?: unknown },
): SearchRequestError {
  const message = `${engine}: ${err.message}`;
  if (response) {
    const type = (response.body as { error?: { type?: string } } | undefined)?.error?.type;
    return new SearchRequestError('response', message, { status: response.statusCode ?? undefined, type, cause: err });
  }
  return new SearchRequestError(isTlsFailure(err) ? 'tls' : 'connection', message, { cause: err });
}

/** Creates an index through `create`; false when it already existed (another process made it first). */
export async function createOnce(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if (err instanceof SearchRequestError && err.type === 'resource_already_exists_exception') return false;
    throw err;
  }
}

/** Whether a connection-level failure (anywhere in its cause chain) is TLS refusing the server. */
export function isTlsFailure(err: unknown): boolean {
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined, i = 0; e && i < 8; i++) {
    if (e.code && UNTRUSTED_CERTIFICATE.test(e.code)) return true;
    // The Elasticsearch client's own pinning fails with a message only.
    if (/certificate|fingerprint/i.test(e.message ?? '')) return true;
    e = e.cause as typeof e;
  }
  return false;
}
