// A fuzzer of the write API over real sockets: random and mutated methods, paths, query strings,
// headers, content types and bodies (lone surrogates, NUL, wrong types, numbers beyond a double,
// impossible dates, deep nesting, broken JSON, over-long ids and headers, garbage request lines).
// Every answer must be below 500 and, when it is an error, in the documented shape with a catalog
// code. Returns the status histogram and the ids it wrote (for a drift check afterwards).
import { request } from 'node:http';
import { connect } from 'node:net';
import { ERROR_CATALOG } from '@syncline/core';

export interface FuzzResult {
  requests: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  /** Answers that broke the contract: a 5xx, or an error not in the documented shape. */
  violations: string[];
  /** Document ids a 2xx PUT, PATCH or _bulk answered for. */
  written: Set<string>;
}

/** mulberry32: a seeded generator, so that a failing run can be repeated. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}

const STRINGS = [
  '',
  'kettle',
  'a\\ud800b',
  'a\\u0000b',
  '\\u0001\\u001f',
  '😀',
  'x'.repeat(300),
  '"quoted"',
  '\\\\',
  'é',
];
const NUMBERS = [
  '0',
  '-0',
  '1.5',
  '-1',
  '1e308',
  '1e400',
  '-1e400',
  '9007199254740993',
  '5e-324',
  '1e',
  'NaN',
  'Infinity',
];
const DATES = [
  '2024-02-29T00:00:00Z',
  '2024-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '10000-01-01T00:00:00Z',
  'yesterday',
  '2024-01-01T00:00:00+16:00',
];
const ID_CHARS = 'abcXYZ019._:-';

export async function fuzzWriteApi(options: {
  url: string;
  apiKey: string;
  requests: number;
  seed: number;
  prefix: string;
}) {
  const r = random(options.seed);
  const base = new URL(options.url);
  const result: FuzzResult = { requests: 0, statuses: {}, codes: {}, violations: [], written: new Set() };
  const documented = new Set(Object.keys(ERROR_CATALOG));

  const id = () => {
    const kind = r.int(10);
    if (kind === 0) return `${options.prefix}${'y'.repeat(120 + r.int(20))}`;
    if (kind === 1) return encodeURIComponent(r.pick(['é', '..', 'a b', '😀', '%', '']));
    if (kind === 2) return 'z'.repeat(r.pick([600, 2000]));
    return `${options.prefix}${Array.from({ length: 1 + r.int(8) }, () => r.pick([...ID_CHARS])).join('')}`;
  };
  const value = (depth = 0): string => {
    switch (r.int(depth > 2 ? 4 : 6)) {
      case 0:
        return `"${r.pick(STRINGS)}"`;
      case 1:
        return r.pick(NUMBERS);
      case 2:
        return r.pick(['true', 'false', 'null']);
      case 3:
        return `"${r.pick(DATES)}"`;
      case 4:
        return `[${Array.from({ length: r.int(4) }, () => value(depth + 1)).join(',')}]`;
      default:
        return `{"k":${value(depth + 1)}}`;
    }
  };
  const field = (name: string, valid: () => string) => `"${name}":${r.chance(0.8) ? valid() : value()}`;
  const documentJson = () => {
    const fields = [
      r.chance(0.9) ? `"name":"fuzz ${r.int(1000)}"` : field('name', () => `"${r.pick(STRINGS)}"`),
      r.chance(0.8) ? `"price":${r.int(1000) / 4}` : field('price', () => r.pick(NUMBERS)),
      field('description', () => (r.chance(0.7) ? `"about ${r.int(100)}"` : `"${r.pick(STRINGS)}"`)),
      field(
        'tags',
        () =>
          `[${Array.from({ length: r.int(4) }, () => (r.chance(0.8) ? `"t${r.int(9)}"` : `"${r.pick(STRINGS)}"`)).join(',')}]`,
      ),
      field('in_stock', () => r.pick(['true', 'false', 'null'])),
      field('updated_at', () => `"${r.chance(0.6) ? new Date(r.int(2e12)).toISOString() : r.pick(DATES)}"`),
    ].filter((_, k) => k < 2 || r.chance(0.7));
    if (r.chance(0.05)) fields.push(`"unknown":${value()}`);
    return `{${fields.join(',')}}`;
  };
  const mutate = (json: string) => {
    switch (r.int(6)) {
      case 0:
        return json.slice(0, r.int(json.length)); // truncated
      case 1:
        return json.replace(/[{}[\]]/, '');
      case 2:
        return `${'['.repeat(2000)}${']'.repeat(2000)}`;
      default:
        return json;
    }
  };
  const bulkJson = () => {
    const op = () =>
      `{"op":${r.chance(0.9) ? `"${r.pick(['upsert', 'patch', 'delete'])}"` : value()},"id":${r.chance(0.9) ? JSON.stringify(decodeURIComponent(id())) : value()},"document":${documentJson()}${r.chance(0.2) ? `,"ifMatch":${value()}` : ''}}`;
    return `{"operations":[${Array.from({ length: r.int(6) }, op).join(',')}]}`;
  };

  const record = (status: number, body: string, what: string) => {
    result.requests++;
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status >= 500) result.violations.push(`${status} for ${what}: ${body.slice(0, 200)}`);
    if (status >= 400) {
      let code: unknown;
      try {
        const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
        code = parsed.error?.code;
        if (typeof parsed.error?.message !== 'string' || !Array.isArray(parsed.error?.details)) code = undefined;
      } catch {
        code = undefined;
      }
      if (typeof code !== 'string' || !documented.has(code)) {
        result.violations.push(`${status} not in the documented shape for ${what}: ${body.slice(0, 200)}`);
      } else result.codes[code] = (result.codes[code] ?? 0) + 1;
    }
  };

  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<void>((resolve) => {
      const req = request({ host: base.hostname, port: base.port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (
            res.statusCode! < 300 &&
            /^\/v1\/collections\/products\/(documents\/|_bulk)/.test(path) &&
            method !== 'GET'
          ) {
            try {
              const json = JSON.parse(text) as { id?: string; items?: { id: string }[] };
              for (const written of json.items?.map((i) => i.id) ?? (json.id ? [json.id] : []))
                result.written.add(written);
            } catch {
              // not JSON: nothing written to note
            }
          }
          record(
            res.statusCode!,
            method === 'HEAD' ? '{"error":{"code":"SYNC_ROUTE_NOT_FOUND","message":"","details":[]}}' : text,
            `${method} ${path.slice(0, 80)}`,
          );
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A body over the limit: the server answers 413 and closes while the client is still sending.
        const oversized = (body?.length ?? 0) > 1 << 20 && (err.code === 'EPIPE' || err.code === 'ECONNRESET');
        if (oversized) record(413, '{"error":{"code":"SYNC_PAYLOAD_TOO_LARGE","message":"","details":[]}}', path);
        else result.violations.push(`${method} ${path.slice(0, 80)}: ${err.message}`);
        resolve();
      });
      if (body !== undefined) {
        req.setHeader('content-length', Buffer.byteLength(body));
        req.end(body);
      } else req.end();
    });

  const raw = (bytes: string) =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(base.port), base.hostname);
      let text = '';
      socket.on('data', (c) => {
        text += c.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(text);
        if (m) record(Number(m[1]), m[2]!, `raw ${JSON.stringify(bytes.slice(0, 40))}`);
        resolve();
      });
      socket.setTimeout(5000, () => socket.destroy());
      socket.end(bytes);
    });

  for (let i = 0; i < options.requests; i++) {
    if (r.chance(0.03)) {
      await raw(
        r.pick([
          'GARBAGE\r\n\r\n',
          `GET /v1/collections/products/documents/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
          'GET /\u00ff HTTP/1.1\r\nHost: a\r\n\r\n',
          'POST /v1/collections/products/_bulk HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello',
        ]),
      );
      continue;
    }
    const kind = r.int(10);
    const collection = r.chance(0.97) ? 'products' : r.pick(['nope', '..', '%00']);
    const query = r.chance(0.2)
      ? `?${r.pick(['wait=indexed', 'wait=now', 'wait=indexed&timeout=' + r.pick(['0', '-1', '50', 'abc', '99999999', '1.5']), 'timeout=5', 'x=%ZZ', 'token=secret'])}`
      : '';
    const headers: Record<string, string> = {};
    if (r.chance(0.95)) headers['x-api-key'] = r.chance(0.95) ? options.apiKey : 'wrong';
    if (r.chance(0.9))
      headers['content-type'] = r.pick([
        'application/json',
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'multipart/form-data',
      ]);
    if (r.chance(0.1)) headers['if-match'] = r.pick(['"1"', '1', 'W/"2"', 'abc', '"99999999999999999999"', '*']);
    let method = r.pick(['PUT', 'PUT', 'PATCH', 'DELETE', 'GET', 'POST']);
    let path = `/v1/collections/${collection}/documents/${id()}${query}`;
    let body: string | undefined;
    if (kind < 5) body = r.chance(0.15) ? mutate(documentJson()) : documentJson();
    else if (kind < 7) {
      method = r.chance(0.9) ? 'POST' : r.pick(['PUT', 'GET']);
      path = `/v1/collections/${collection}/_bulk${query}`;
      body = r.chance(0.1) ? mutate(bulkJson()) : bulkJson();
    } else if (kind === 7) {
      method = r.pick(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'PATCH']);
      path = r.pick([
        '/',
        '/v1',
        '/v1/collections',
        '/docs/json',
        '/metrics',
        '/healthz',
        '//v1//collections',
        '/v1/collections/products/documents/',
        `/${'a'.repeat(3000)}`,
      ]);
    }
    if (method === 'GET' || method === 'DELETE') body = r.chance(0.1) ? documentJson() : undefined;
    if (method === 'HEAD') body = undefined; // a response to HEAD has no body: the client could not tell where it ends
    if (body !== undefined && r.chance(0.02)) body = `{"name":"${'x'.repeat(2 << 20)}","price":1}`;
    await send(method, path, headers, body);
  }
  return result;
}
