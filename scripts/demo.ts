// `./dev up [--secure|--opensearch]` / `./dev down`: creates the demo application's own tables
// (scripts/demo-schema.sql, demo-joined-schema.sql) and attaches capture to them, runs the services (write
// API with its embedded outbox relay, and one sink) as background processes against the local stack, then
// shows them working: a row written with psql and a document written over HTTP are both found in the
// search index. --opensearch writes to the stack's OpenSearch node; --secure talks to Kafka over SASL_SSL
// (SCRAM) and to the stack's secured Elasticsearch node over HTTPS with an API key.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, SearchProbe, spawnService } from '@syncline/testkit';

const ROOT = new URL('../', import.meta.url).pathname;
const STATE = join(ROOT, '.stack', 'pipeline');
const LOGS = join(ROOT, '.stack', 'logs');
const API = 'http://127.0.0.1:8080';
const API_KEY = process.env.SYNCLINE_DEMO_API_KEY ?? 'dev-key';
const PG_URL = 'postgres://postgres@127.0.0.1:5432/syncline';

type Mode = 'default' | 'opensearch' | 'secure';
const MODE: Mode =
  process.argv[3] === '--secure' ? 'secure' : process.argv[3] === '--opensearch' ? 'opensearch' : 'default';
const KAFKA_TLS = join(ROOT, '.stack', 'kafka', 'tls');
const ES_AUTH = join(ROOT, '.stack', 'elasticsearch-secure-auth');

/** Where each mode's search engine is, and how the demo's own requests reach it. */
const ENGINE = {
  default: { name: 'Elasticsearch', url: 'http://127.0.0.1:9200', curl: 'curl -s' },
  opensearch: { name: 'OpenSearch', url: 'http://127.0.0.1:9201', curl: 'curl -s' },
  secure: {
    name: 'Elasticsearch (HTTPS, API key)',
    url: 'https://127.0.0.1:9202',
    curl: `curl -s --cacert ${ES_AUTH}/ca.pem -H "Authorization: ApiKey $(cat ${ES_AUTH}/api-key)"`,
  },
}[MODE];
const ES = ENGINE.url;
const probe = () =>
  MODE === 'secure'
    ? new SearchProbe({
        url: ES,
        ca: readFileSync(join(ES_AUTH, 'ca.pem'), 'utf8'),
        authorization: `ApiKey ${readFileSync(join(ES_AUTH, 'api-key'), 'utf8').trim()}`,
      })
    : new SearchProbe({ url: ES });

const ENV = {
  SYNCLINE_PG_URL: PG_URL,
  SYNCLINE_COLLECTIONS: join(ROOT, 'syncline.collections.json'),
  SYNCLINE_API_KEYS: API_KEY,
  // Each engine gets its own sink group: it reads the (compacted) topics from their start.
  ...(MODE === 'opensearch' && {
    SYNCLINE_SEARCH_ENGINE: 'opensearch',
    SYNCLINE_ES_URL: ES,
    SYNCLINE_SINK_GROUP: 'syncline-sink-opensearch',
  }),
  ...(MODE === 'secure' && {
    SYNCLINE_KAFKA_BROKERS: '127.0.0.1:9094',
    SYNCLINE_KAFKA_TLS: 'true',
    SYNCLINE_KAFKA_TLS_CA_FILE: join(KAFKA_TLS, 'ca.pem'),
    SYNCLINE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    SYNCLINE_KAFKA_SASL_USERNAME: 'syncline',
    SYNCLINE_KAFKA_SASL_PASSWORD_FILE: join(KAFKA_TLS, 'syncline.password'),
    SYNCLINE_ES_URL: ES,
    SYNCLINE_ES_CA_FILE: join(ES_AUTH, 'ca.pem'),
    SYNCLINE_ES_API_KEY_FILE: join(ES_AUTH, 'api-key'),
    SYNCLINE_SINK_GROUP: 'syncline-sink-secure',
  }),
};
const psql = (sql: string) =>
  execFileSync('psql', [PG_URL, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8' }).trim();

/** Each runs services/<name>/src/main.ts and serves /readyz on its port. */
const SERVICES = [
  { name: 'write-api', port: 8080 },
  { name: 'es-sink', port: 8082 },
] as const;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pidOf = (name: string) => {
  const f = join(STATE, `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
};

/** Ready (/readyz 200) within 60 s, or the reason why not. */
async function waitReady(url: string, name: string, log: string, pid: number): Promise<void> {
  await eventually(
    async () => {
      if (!alive(pid)) throw new Error(`${name} exited during start-up; see ${log}`);
      const ready = (await fetch(url).catch(() => undefined))?.ok;
      if (!ready) throw new Error(`${name} did not become ready within 60 s; see ${log}`);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

async function up(): Promise<void> {
  mkdirSync(STATE, { recursive: true });
  // Services of another mode are stopped first: they talk to other services.
  const modeFile = join(STATE, 'mode');
  if (existsSync(modeFile) && readFileSync(modeFile, 'utf8') !== MODE) await down();
  writeFileSync(modeFile, MODE);
  // The application's table, as the application would create it, then capture attached to it.
  for (const file of ['scripts/demo-schema.sql', 'scripts/demo-joined-schema.sql']) {
    execFileSync('psql', [PG_URL, '-v', 'ON_ERROR_STOP=1', '-q', '-f', join(ROOT, file)]);
  }
  console.log(
    execFileSync(process.execPath, [join(ROOT, 'services/cli/src/main.ts'), 'capture', 'enable', 'products'], {
      env: { ...process.env, ...ENV },
      encoding: 'utf8',
    }).trim(),
  );
  for (const s of SERVICES) {
    const log = join(LOGS, `${s.name}.log`);
    let pid = pidOf(s.name);
    if (!pid || !alive(pid)) {
      const env = { ...ENV, SYNCLINE_HTTP_PORT: String(s.port) };
      pid = (await spawnService(s.name, `services/${s.name}/src/main.ts`, env, { logFile: log, detached: true })).pid;
      writeFileSync(join(STATE, `${s.name}.pid`), String(pid));
      console.log(`demo: started ${s.name} (pid ${pid}), log ${log}`);
    }
    await waitReady(`http://127.0.0.1:${s.port}/readyz`, s.name, log, pid);
  }
  await demo();
}

async function demo(): Promise<void> {
  const id = `demo-${Date.now().toString(36)}`;
  const doc = {
    name: 'Stainless steel kettle',
    description: 'Boils a litre in three minutes',
    price: 39.9,
    tags: ['kitchen', 'demo'],
    in_stock: true,
    updated_at: new Date().toISOString(),
  };
  const put = await fetch(`${API}/v1/collections/products/documents/${id}?wait=indexed&timeout=15000`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify(doc),
  });
  const written = (await put.json()) as { error?: { code: string; message: string } };
  if (!put.ok) throw new Error(`the demo write failed: ${put.status} ${JSON.stringify(written)}`);
  const search = probe();
  await search.refresh('products');
  const hits = (
    (await search.ok('POST', '/products/_search', {
      query: { match: { name: 'kettle' } },
      version: true,
      size: 3,
    })) as {
      hits: { total: { value: number }; hits: { _id: string; _version: number }[] };
    }
  ).hits;
  const found = hits.hits.find((h) => h._id === id);
  // The application writes its table directly: psql, naming only the table's own columns.
  const sqlId = `psql-${Date.now().toString(36)}`;
  psql(`insert into products (id, name, description, price, tags, in_stock, updated_at)
        values ('${sqlId}', 'Enamel teapot', 'Written with psql', 24.5, '{kitchen,psql}', true, now())`);
  const direct = await eventually(
    async () => {
      const doc = await search.get('products', sqlId);
      if (!doc.found) throw new Error(`the row inserted with psql (${sqlId}) did not reach ${ENGINE.name}`);
      return { _version: doc.version!, _source: doc.source as { name: string } };
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  // Documents are joined from three tables: a brand and a review written with psql reach the product's document.
  const brandId = `brand-${Date.now().toString(36)}`;
  const reviewId = `review-${Date.now().toString(36)}`;
  psql(`begin;
        insert into brands (id, name) values ('${brandId}', 'Hearth & Co');
        update products set brand_id = '${brandId}' where id = '${sqlId}';
        commit;
        insert into reviews (id, product_id, rating, body) values ('${reviewId}', '${sqlId}', 5, 'Pours without a drip');`);
  type Joined = {
    _version: number;
    _source: { brand: { name: string } | null; reviews: { id: string; body: string }[] };
  };
  const joined = await eventually(
    async () => {
      const got = await search.get('products', sqlId);
      const doc = { _version: got.version!, _source: got.source } as Joined;
      if (!doc._source?.reviews?.some((r) => r.id === reviewId)) {
        throw new Error(`the review inserted with psql (${reviewId}) did not reach product ${sqlId} in ${ENGINE.name}`);
      }
      return doc;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  const anonymous =
    MODE === 'secure'
      ? (
          await new SearchProbe({ url: ES, ca: readFileSync(join(ES_AUTH, 'ca.pem'), 'utf8') }).send(
            'GET',
            '/products/_count',
          )
        ).status
      : undefined;
  const curl = ENGINE.curl;
  console.log(`
Syncline is running${MODE === 'default' ? '' : ` (--${MODE})`}:
  write API      ${API}   (OpenAPI docs: ${API}/docs, metrics: ${API}/metrics, API key: ${API_KEY})
  outbox relay   inside the write API
  sink           http://127.0.0.1:8082/metrics
  Kafka          ${MODE === 'secure' ? "127.0.0.1:9094, SASL_SSL (SCRAM-SHA-512, user syncline, the stack's CA)" : '127.0.0.1:9092'}
  ${ENGINE.name.padEnd(14)} ${ES}    (alias 'products')${
    anonymous === undefined
      ? ''
      : `
                 an anonymous request answers ${anonymous}; Syncline and the examples below use the API key`
  }

Just now: PUT products/${id} committed to PostgreSQL, and the search for "kettle" found it in
${ENGINE.name} at version ${found?._version ?? 'NOT FOUND'} (${hits.total.value} hit(s) in all).
And psql inserted row ${sqlId} into table products directly: ${ENGINE.name} has "${direct._source.name}" at version ${direct._version}.
Then psql gave it brand ${brandId} and inserted review ${reviewId}: its document now carries
  brand ${JSON.stringify(joined._source.brand)} and reviews ${JSON.stringify(joined._source.reviews)} (version ${joined._version}).

products, brands and reviews are the application's own tables: every committed change to any of them,
by any client, reaches every product document it appears in (syncline capture status products). Try it:
  psql ${PG_URL} -c "update brands set name = 'Hearth & Sons' where id = '${brandId}'"
  psql ${PG_URL} -c "insert into reviews (id, product_id, rating, body) values ('${reviewId}-2', '${sqlId}', 4, 'Heavy')"
  ${curl} '${ES}/products/_doc/${sqlId}?pretty'
  psql ${PG_URL} -c "delete from products where id = '${sqlId}'"

  curl -s -X PUT '${API}/v1/collections/products/documents/p-1?wait=indexed' \\
       -H 'content-type: application/json' -H 'x-api-key: ${API_KEY}' \\
       -d '{"name": "Cast iron pan", "price": 49.5, "tags": ["kitchen"], "in_stock": true}'
  ${curl} '${ES}/products/_doc/p-1?pretty'
  curl -s -X DELETE '${API}/v1/collections/products/documents/p-1' -H 'x-api-key: ${API_KEY}'

Stop everything with ./dev down. Logs: .stack/logs/.
`);
  if (!found) process.exitCode = 1;
}

async function down(): Promise<void> {
  for (const s of [...SERVICES].reverse()) {
    const pid = pidOf(s.name);
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      console.log(`demo: stopped ${s.name} (pid ${pid})`);
    }
    rmSync(join(STATE, `${s.name}.pid`), { force: true });
  }
  rmSync(join(STATE, 'mode'), { force: true });
}

const command = process.argv[2];
try {
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else throw new Error('usage: demo.ts up|down');
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
