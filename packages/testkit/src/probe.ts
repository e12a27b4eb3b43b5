// The tests' outside observer of the search engine: plain HTTP against the REST API that Elasticsearch
// and OpenSearch share, independent of the adapters under test. It reads what the pipeline wrote and
// injects what an operator might do by hand (edit a document, drop an index).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeOptions {
  url: string;
  /** PEM text of the CA to trust (https). */
  ca?: string;
  /** An Authorization header value (ApiKey ..., Basic ...). */
  authorization?: string;
}

export interface ProbeResponse {
  status: number;
  body: any;
}

export interface ProbedDocument {
  found: boolean;
  version?: number;
  source?: Record<string, unknown>;
}

export class SearchProbe {
  readonly url: string;
  private readonly options: ProbeOptions;

  constructor(options: ProbeOptions) {
    this.options = options;
    this.url = options.url.replace(/\/$/, '');
  }

  /** One request; the status and the parsed body, whatever the status. */
  send(method: string, path: string, body?: unknown): Promise<ProbeResponse> {
    const url = new URL(this.url + path);
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : Buffer.from(JSON.stringify(body));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ...(this.options.ca && { ca: this.options.ca }),
          headers: {
            // Always a length: Node sends a DELETE's body unframed otherwise, and the server then reads
            // it as the start of the next request on the kept-alive connection.
            'content-length': String(payload === undefined ? 0 : Buffer.byteLength(payload)),
            ...(payload !== undefined && {
              'content-type': path.includes('_bulk') ? 'application/x-ndjson' : 'application/json',
            }),
            ...(this.options.authorization && { authorization: this.options.authorization }),
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request that must succeed (2xx, or one of `allowed`). */
  async ok(method: string, path: string, body?: unknown, allowed: number[] = []): Promise<any> {
    const res = await this.send(method, path, body);
    if ((res.status < 200 || res.status >= 300) && !allowed.includes(res.status)) {
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** The real-time state of one document. */
  async get(index: string, id: string): Promise<ProbedDocument> {
    const body = await this.ok('GET', `/${enc(index)}/_doc/${enc(id)}`, undefined, [404]);
    return body?.found ? { found: true, version: body._version, source: body._source } : { found: false };
  }

  /** Writes a document by hand (an internal version: what an operator's edit looks like). */
  async index(index: string, id: string, doc: Record<string, unknown>, refresh = false): Promise<void> {
    await this.ok('PUT', `/${enc(index)}/_doc/${enc(id)}${refresh ? '?refresh=true' : ''}`, doc);
  }

  async delete(index: string, id: string, refresh = false): Promise<void> {
    await this.ok('DELETE', `/${enc(index)}/_doc/${enc(id)}${refresh ? '?refresh=true' : ''}`, undefined, [404]);
  }

  async refresh(index: string): Promise<void> {
    await this.ok('POST', `/${enc(index)}/_refresh`);
  }

  async count(index: string): Promise<number> {
    return (await this.ok('GET', `/${enc(index)}/_count`)).count;
  }

  /** The physical indexes behind an alias; none when it does not exist. */
  async aliasTargets(alias: string): Promise<string[]> {
    return Object.keys((await this.ok('GET', `/_alias/${enc(alias)}`, undefined, [404])) ?? {}).filter(
      (k) => k !== 'error' && k !== 'status',
    );
  }

  /** The index's mapped properties. */
  async properties(index: string): Promise<Record<string, any>> {
    const body = await this.ok('GET', `/${enc(index)}/_mapping`);
    return (Object.values(body)[0] as { mappings: { properties: Record<string, any> } }).mappings.properties;
  }

  async createIndex(index: string, body: unknown): Promise<void> {
    await this.ok('PUT', `/${enc(index)}`, body);
  }

  async putMapping(index: string, properties: Record<string, unknown>): Promise<void> {
    await this.ok('PUT', `/${enc(index)}/_mapping`, { properties });
  }

  /** The number of index operations the index has seen; undefined when it does not exist. */
  async indexingTotal(index: string): Promise<number | undefined> {
    const res = await this.send('GET', `/${enc(index)}/_stats/indexing`);
    if (res.status === 404) return undefined;
    return res.body._all.primaries.indexing.index_total;
  }

  /** Every document of an index or alias (refreshed first), with its version. */
  async documents(index: string): Promise<Map<string, { version: number; source: Record<string, unknown> }>> {
    await this.refresh(index);
    const docs = new Map<string, { version: number; source: Record<string, unknown> }>();
    let page = await this.ok('POST', `/${enc(index)}/_search?scroll=1m`, {
      size: 5000,
      version: true,
      query: { match_all: {} },
    });
    while (page.hits.hits.length > 0) {
      for (const h of page.hits.hits) docs.set(h._id, { version: h._version, source: h._source });
      page = await this.ok('POST', '/_search/scroll', { scroll: '1m', scroll_id: page._scroll_id });
    }
    if (page._scroll_id) await this.send('DELETE', '/_search/scroll', { scroll_id: page._scroll_id }).catch(() => {});
    return docs;
  }

  /** Removes every index and index template whose name starts with the prefix. */
  async dropPrefix(prefix: string): Promise<void> {
    await this.send('DELETE', `/${enc(prefix)}*?expand_wildcards=all`).catch(() => {});
    await this.send('DELETE', `/_index_template/${enc(prefix)}*`).catch(() => {});
  }
}

const enc = (s: string) => encodeURIComponent(s).replace(/%2A/g, '*').replace(/%2C/g, ',');
