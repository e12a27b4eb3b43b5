// The Elasticsearch adapter of the search port (@elastic/elasticsearch 9).
import { Client, errors } from '@elastic/elasticsearch';
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
  if (err instanceof SearchRequestError || !(err instanceof errors.ElasticsearchClientError)) return err;
  if (err instanceof errors.ProductNotSupportedError) {
    return new SearchRequestError('product', `Elasticsearch: ${err.message}`, { cause: err });
  }
  return requestFailure('Elasticsearch', err, err instanceof errors.ResponseError ? err.meta : undefined);
}

export class ElasticsearchEngine implements SearchEngine {
  readonly name = 'elasticsearch';
  private readonly es: Client;

  constructor(connection: SearchConnection) {
    const { auth } = connection;
    this.es = new Client({
      nodes: connection.urls,
      // The same bound as the OpenSearch client's default: a node that stops answering fails the request.
      requestTimeout: REQUEST_TIMEOUT_MS,
      ...(auth?.apiKey && { auth: { apiKey: auth.apiKey } }),
      ...(auth?.username && { auth: { username: auth.username, password: auth.password! } }),
      ...(connection.ca && { tls: { ca: connection.ca } }),
      // The client's own pinning, as Elastic documents it: the chain is not verified against a CA file
      // (there is none), the connection is refused unless the chain's CA certificate has this fingerprint.
      ...(connection.caFingerprint && { caFingerprint: connection.caFingerprint, tls: { rejectUnauthorized: false } }),
    });
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw translate(err);
    }
  }

  async check() {
    // The node's own info (GET / is not served by every distribution: the integ-test one lacks it).
    const res = await this.call(() =>
      this.es.nodes.info({ node_id: '_local', metric: '_none' }, { requestTimeout: CHECK_TIMEOUT_MS }),
    );
    const node = Object.values(res.nodes)[0];
    return { distribution: 'elasticsearch' as const, version: node?.version ?? 'unknown' };
  }

  async bulk(lines: string[], timeoutMs: number): Promise<BulkItemResult[]> {
    const res = await this.call(() =>
      this.es.bulk(
        {
          operations: lines as unknown as Record<string, unknown>[],
          // Only what classification reads: a full item answer is several times larger to send and parse.
          filter_path: ['items.*.status', 'items.*.error.type', 'items.*.error.reason'],
        },
        { requestTimeout: timeoutMs, maxRetries: 0 },
      ),
    );
    return res.items.map((item) => {
      const r = Object.values(item)[0]!;
      return { status: r.status, errorType: r.error?.type, reason: r.error?.reason ?? undefined };
    });
  }

  async versions(index: string, ids: string[]): Promise<Map<string, number | null>> {
    const { docs } = await this.call(() => this.es.mget({ index, ids, _source: false }));
    return new Map(docs.map((d) => [d._id, 'found' in d && d.found ? (d._version ?? 0) : null]));
  }

  async sortedPage(index: string, field: string, size: number, after?: unknown[]): Promise<SearchHit[]> {
    const res = await this.call(() =>
      this.es.search({
        index,
        size,
        version: true,
        sort: [{ [field]: { order: 'asc', missing: '_last', unmapped_type: 'keyword' } }],
        ...(after && { search_after: after as never }),
        query: { match_all: {} },
      }),
    );
    return res.hits.hits.map((h) => ({
      id: h._id!,
      version: h._version!,
      source: (h._source ?? {}) as Record<string, unknown>,
      sort: (h.sort ?? []) as unknown[],
    }));
  }

  async count(index: string): Promise<number> {
    return (await this.call(() => this.es.count({ index }))).count;
  }

  async refresh(index: string): Promise<void> {
    await this.call(() => this.es.indices.refresh({ index }, { requestTimeout: SLOW_TIMEOUT_MS }));
  }

  async indexNames(pattern: string): Promise<string[]> {
    return Object.keys(await this.call(() => this.es.indices.get({ index: pattern, expand_wildcards: 'all' })));
  }

  indexExists(index: string): Promise<boolean> {
    return this.call(() => this.es.indices.exists({ index }));
  }

  async aliasTargets(alias: string): Promise<string[]> {
    const exists = await this.call(() => this.es.indices.existsAlias({ name: alias }));
    return exists ? Object.keys(await this.call(() => this.es.indices.getAlias({ name: alias }))) : [];
  }

  async createIndex(index: string, body: IndexBody): Promise<boolean> {
    return createOnce(() => this.call(() => this.es.indices.create({ index, ...(body as object) })));
  }

  async putIndexTemplate(name: string, patterns: string[], template: IndexBody): Promise<void> {
    await this.call(() =>
      this.es.indices.putIndexTemplate({ name, index_patterns: patterns, template: template as never }),
    );
  }

  async putMapping(index: string, properties: Record<string, unknown>): Promise<void> {
    await this.call(() => this.es.indices.putMapping({ index, properties: properties as never }));
  }

  async putSettings(index: string, settings: Record<string, unknown>): Promise<void> {
    await this.call(() => this.es.indices.putSettings({ index, settings }));
  }

  async swapAlias(alias: string, add: string, remove: string[]): Promise<void> {
    await this.call(() =>
      this.es.indices.updateAliases({
        actions: [
          ...remove.map((index) => ({ remove: { index, alias } })),
          { add: { index: add, alias, is_write_index: true } },
        ],
      }),
    );
  }

  async deleteIndex(index: string): Promise<void> {
    await this.call(() => this.es.indices.delete({ index }, { ignore: [404] }));
  }

  async close(): Promise<void> {
    await this.es.close();
  }
}
