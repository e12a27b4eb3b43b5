// The OpenSearch adapter of the search port (@opensearch-project/opensearch 3): the same requests as
// the Elasticsearch adapter, in that client's shape (request bodies under `body`, answers in `.body`).
import { Client, errors } from '@opensearch-project/opensearch';
import type { SearchConnection } from './client.ts';
import {
  type BulkItemResult,
  CHECK_TIMEOUT_MS,
  createOnce,
  type IndexBody,
  REQUEST_TIMEOUT_MS,
  requestFailure,
  type SearchEngine,
  type SearchHit,
  SearchRequestError,
  SLOW_TIMEOUT_MS,
} from './port.ts';

/** The library's error as the port's. */
function translate(err: unknown): unknown {
  if (err instanceof SearchRequestError || !(err instanceof errors.OpenSearchClientError)) return err;
  return requestFailure('OpenSearch', err, err instanceof errors.ResponseError ? err.meta : undefined);
}

type Hit = { _id: string; _version?: number; _source?: Record<string, unknown>; sort?: unknown[] };

export class OpenSearchEngine implements SearchEngine {
  readonly name = 'opensearch';
  private readonly os: Client;

  constructor(connection: SearchConnection) {
    const { auth } = connection;
    if (auth?.apiKey || connection.caFingerprint) {
      // Refused by configuration validation already; repeated for embedders that build connections themselves.
      throw new Error('OpenSearch takes basic authentication and a CA file (no API key, no CA fingerprint)');
    }
    this.os = new Client({
      nodes: connection.urls,
      requestTimeout: REQUEST_TIMEOUT_MS,
      ...(auth?.username && { auth: { username: auth.username, password: auth.password! } }),
      ...(connection.ca && { ssl: { ca: connection.ca } }),
    });
  }

  private async call<T>(request: () => Promise<{ body: unknown }>): Promise<T> {
    try {
      return (await request()).body as T;
    } catch (err) {
      throw translate(err);
    }
  }

  async check() {
    // The node's own info; Elasticsearch marks every answer with its product header (its client checks
    // for it), which tells the two apart.
    let res: { body: unknown; headers?: Record<string, unknown> | null };
    try {
      res = await this.os.nodes.info({ node_id: '_local', metric: '_none' } as never, {
        requestTimeout: CHECK_TIMEOUT_MS,
      });
    } catch (err) {
      throw translate(err);
    }
    if (res.headers?.['x-elastic-product'] === 'Elasticsearch') {
      throw new SearchRequestError('product', 'OpenSearch: the server is Elasticsearch');
    }
    const nodes = (res.body as { nodes: Record<string, { version?: string }> }).nodes;
    return { distribution: 'opensearch' as const, version: Object.values(nodes)[0]?.version ?? 'unknown' };
  }

  async bulk(lines: string[], timeoutMs: number): Promise<BulkItemResult[]> {
    const res = await this.call<{
      items: Array<Record<string, { status: number; error?: { type?: string; reason?: string } }>>;
    }>(() =>
      this.os.bulk(
        { body: lines as never, filter_path: ['items.*.status', 'items.*.error.type', 'items.*.error.reason'] },
        { requestTimeout: timeoutMs, maxRetries: 0 },
      ),
    );
    return res.items.map((item) => {
      const r = Object.values(item)[0]!;
      return { status: r.status, errorType: r.error?.type, reason: r.error?.reason };
    });
  }

  async versions(index: string, ids: string[]): Promise<Map<string, number | null>> {
    const { docs } = await this.call<{ docs: Array<{ _id: string; found?: boolean; _version?: number }> }>(() =>
      this.os.mget({ index, _source: false, body: { ids } }),
    );
    return new Map(docs.map((d) => [d._id, d.found ? (d._version ?? 0) : null]));
  }

  async sortedPage(index: string, field: string, size: number, after?: unknown[]): Promise<SearchHit[]> {
    const res = await this.call<{ hits: { hits: Hit[] } }>(() =>
      this.os.search({
        index,
        body: {
          size,
          version: true,
          sort: [{ [field]: { order: 'asc', missing: '_last', unmapped_type: 'keyword' } }],
          ...(after && { search_after: after }),
          query: { match_all: {} },
        } as never,
      }),
    );
    return res.hits.hits.map((h) => ({ id: h._id, version: h._version!, source: h._source ?? {}, sort: h.sort ?? [] }));
  }

  async count(index: string): Promise<number> {
    return (await this.call<{ count: number }>(() => this.os.count({ index }))).count;
  }

  async refresh(index: string): Promise<void> {
    await this.call(() => this.os.indices.refresh({ index }, { requestTimeout: SLOW_TIMEOUT_MS }));
  }

  async indexNames(pattern: string): Promise<string[]> {
    return Object.keys(await this.call<object>(() => this.os.indices.get({ index: pattern, expand_wildcards: 'all' })));
  }

  indexExists(index: string): Promise<boolean> {
    return this.call<boolean>(() => this.os.indices.exists({ index }));
  }

  async aliasTargets(alias: string): Promise<string[]> {
    const exists = await this.call<boolean>(() => this.os.indices.existsAlias({ name: alias }));
    return exists ? Object.keys(await this.call<object>(() => this.os.indices.getAlias({ name: alias }))) : [];
  }

  async createIndex(index: string, body: IndexBody): Promise<boolean> {
    return createOnce(() => this.call(() => this.os.indices.create({ index, body: body as never })));
  }

  async putIndexTemplate(name: string, patterns: string[], template: IndexBody): Promise<void> {
    await this.call(() =>
      this.os.indices.putIndexTemplate({ name, body: { index_patterns: patterns, template: template as never } }),
    );
  }

  async putMapping(index: string, properties: Record<string, unknown>): Promise<void> {
    await this.call(() => this.os.indices.putMapping({ index, body: { properties: properties as never } }));
  }

  async putSettings(index: string, settings: Record<string, unknown>): Promise<void> {
    await this.call(() => this.os.indices.putSettings({ index, body: settings as never }));
  }

  async swapAlias(alias: string, add: string, remove: string[]): Promise<void> {
    await this.call(() =>
      this.os.indices.updateAliases({
        body: {
          actions: [
            ...remove.map((index) => ({ remove: { index, alias } })),
            { add: { index: add, alias, is_write_index: true } },
          ],
        },
      }),
    );
  }

  async deleteIndex(index: string): Promise<void> {
    await this.call(() => this.os.indices.delete({ index }, { ignore: [404] }));
  }

  async close(): Promise<void> {
    await this.os.close();
  }
}
