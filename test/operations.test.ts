// Guarantees 7 and 8 on the real stack, through the syncline CLI's operations: zero-downtime
// reindex (also with a changed mapping, and after a SIGKILL mid-rebuild), backfill of rows that
// predate Syncline (interrupted and resumed), and reconcile that finds injected drift exactly and
// repairs it through the outbox.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { backfill, reconcile, reindex } from '@syncline/cli';
import { OutboxWriter, withTransaction } from '@syncline/outbox';
import { type Collection, parseDeclaration } from '@syncline/schema';
import {
  createNamespace,
  eventually,
  type Namespace,
  REPO_ROOT,
  searchEngineName,
  spawnService,
} from '@syncline/testkit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from './support/compare.ts';
import { type Harness, startHarness } from './support/harness.ts';

const run = promisify(execFile);
const NONE = { missing: [], orphaned: [], different: [] };

describe(`operations: reindex, backfill, reconcile (${searchEngineName()})`, () => {
  let ns: Namespace;
  let h: Harness;
  beforeEach(async () => {
    ns = await createNamespace(inject('services'), 'ops');
    h = await startHarness(ns, { partitions: 3 });
    await h.startSink();
  });
  afterEach(async () => {
    await h?.close();
    await ns?.cleanup();
  });

  const settled = () =>
    eventually(async () => expect(await compareEsWithPg(ns.probe, ns.pool, h.collection)).toEqual(NONE), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });

  const seed = async (n: number, prefix = 'doc') => {
    const writer = new OutboxWriter({ collections: [h.collection] });
    for (let i = 0; i < n; i += 1000) {
      await withTransaction(ns.pool, (c) =>
        writer.apply(
          c,
          'products',
          Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
            op: 'upsert' as const,
            id: `${prefix}-${String(i + k).padStart(6, '0')}`,
            document: {
              name: `Item ${i + k}`,
              description: 'seeded',
              price: i + k,
              tags: ['seed'],
              in_stock: true,
              updated_at: null,
            },
          })),
        ),
      );
    }
  };

  it('reindexes with zero downtime while writes and searches go on, also with a changed mapping', async () => {
    await seed(2000);
    await settled();
    const alias = h.collection.index.alias;
    const baseline = await ns.probe.count(alias);
    let searching = true;
    let searches = 0;
    const failures: string[] = [];
    let fewest = Number.POSITIVE_INFINITY;
    const searchLoop = (async () => {
      while (searching) {
        try {
          const r = await ns.probe.ok('POST', `/${alias}/_search`, {
            size: 0,
            track_total_hits: true,
            query: { match_all: {} },
          });
          const total: number = r.hits.total.value;
          fewest = Math.min(fewest, total);
          searches++;
        } catch (err) {
          failures.push((err as Error).message);
        }
        // Yield to timers: a loop of instantly failing requests must never starve the test runner.
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let writing = true;
    const writeLoop = (async () => {
      for (let i = 0; writing; i++) {
        await h.app.inject({
          method: 'PUT',
          url: `/v1/collections/products/documents/live-${i % 300}`,
          payload: { name: `live ${i}`, price: i },
        });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const stopLoops = async () => {
      writing = false;
      searching = false;
      await Promise.all([writeLoop, searchLoop]);
    };

    try {
      const first = await reindex(ns.pool, ns.kafka, ns.search, h.collection, { graceSeconds: 0 });
      expect(first.to).toMatch(/_000002$/);
      // The mapping changes in the declaration: name loses its keyword sub-field, tags become text.
      const changed: Collection = parseDeclaration({
        collections: [
          {
            ...h.collection,
            fields: {
              ...h.collection.fields,
              name: { ...h.collection.fields.name, search: 'text' },
              tags: { ...h.collection.fields.tags, search: 'text' },
            },
          },
        ],
      }).collections[0]!;
      const second = await reindex(ns.pool, ns.kafka, ns.search, changed, { graceSeconds: 0 });
      expect(second.to).toMatch(/_000003$/);
      expect(second.deleted).toContain(first.to);

      writing = false;
      await writeLoop;
      await settled();
      await stopLoops();
      expect(failures).toEqual([]);
      expect(searches).toBeGreaterThan(10);
      expect(fewest).toBeGreaterThanOrEqual(baseline);
      expect(await ns.probe.aliasTargets(alias)).toEqual([second.to]);
      const props = (await ns.probe.properties(second.to)) as Record<string, { type: string; fields?: unknown }>;
      expect(props.name!.fields).toBeUndefined();
      expect(props.tags!.type).toBe('text');
    } finally {
      await stopLoops();
    }
  });

  it('finishes a reindex killed with SIGKILL midway, and the alias never points at an incomplete index', async () => {
    await seed(20_000);
    await settled();
    const alias = h.collection.index.alias;
    const before = await ns.probe.aliasTargets(alias);
    const child = spawn(process.execPath, [`${REPO_ROOT}services/cli/src/main.ts`, 'reindex', 'products', '--json'], {
      env: { ...process.env, ...h.sinkEnv },
      stdio: 'ignore',
    });
    const next = `${alias}_000002`;
    await eventually(
      async () => {
        expect((await ns.probe.indexingTotal(next)) ?? 0).toBeGreaterThan(0);
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await ns.probe.aliasTargets(alias)).toEqual(before);

    const { stdout } = await run(
      process.execPath,
      [`${REPO_ROOT}services/cli/src/main.ts`, 'reindex', 'products', '--json', '--grace-seconds', '0'],
      {
        env: { ...process.env, ...h.sinkEnv },
      },
    );
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ resumed: true, to: next });
    expect(await ns.probe.aliasTargets(alias)).toEqual([next]);
    await settled();
  });

  it('backfills rows that predate Syncline, interrupted and resumed, without gaps', async () => {
    const ROWS = 100_000;
    await ns.pool.query('truncate products');
    await ns.pool.query(
      `insert into products (id, name, description, price, tags, in_stock, updated_at, syncline_version)
       select 'old-' || lpad(g::text, 6, '0'), 'Legacy ' || g, null, g % 500, array['legacy'], g % 3 = 0, now(), 0
       from generate_series(1, $1::int) g`,
      [ROWS],
    );
    const partial = await backfill(ns.pool, { collections: [h.collection] }, h.collection, {
      chunk: 5000,
      maxChunks: 4,
    });
    expect(partial).toMatchObject({ emitted: 20_000, finished: false });
    const { stdout } = await run(
      process.execPath,
      [`${REPO_ROOT}services/cli/src/main.ts`, 'backfill', 'products', '--chunk', '5000', '--json'],
      {
        env: { ...process.env, ...h.sinkEnv },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ emitted: ROWS, total: ROWS, finished: true });
    const { rows } = await ns.pool.query<{ n: string }>(
      'select count(*) as n from products where syncline_version = 0',
    );
    expect(Number(rows[0]!.n)).toBe(0);
    await eventually(async () => expect(await compareEsWithPg(ns.probe, ns.pool, h.collection)).toEqual(NONE), {
      timeoutMs: 180_000,
      intervalMs: 2000,
    });
  });

  it('reports injected drift exactly, repairs it through the outbox, and then reports none', async () => {
    await seed(500);
    await settled();
    const alias = h.collection.index.alias;
    const index = (await ns.probe.aliasTargets(alias))[0]!;
    for (const id of ['doc-000010', 'doc-000020', 'doc-000030']) await ns.probe.delete(index, id);
    await ns.probe.index(index, 'doc-000040', { name: 'edited by hand', price: 1, syncline_id: 'doc-000040' });
    await ns.probe.index(index, 'ghost-1', { name: 'orphan', price: 2, syncline_id: 'ghost-1' });
    await ns.probe.index(index, 'ghost-2', { name: 'orphan without the sortable id', price: 3 });
    await ns.pool.query("update products set price = 999 where id = 'doc-000050'");
    await ns.probe.refresh(index);

    const report = await reconcile(ns.pool, ns.search, { collections: [h.collection] }, h.collection);
    expect(report.missing.sort()).toEqual(['doc-000010', 'doc-000020', 'doc-000030']);
    expect(report.orphaned.sort()).toEqual(['ghost-1', 'ghost-2']);
    expect(report.ahead).toEqual(['doc-000040']);
    expect(report.diverged).toEqual(['doc-000050']);
    expect(report.stale).toEqual([]);

    const cli = (args: string[]) =>
      run(process.execPath, [`${REPO_ROOT}services/cli/src/main.ts`, ...args], {
        env: { ...process.env, ...h.sinkEnv },
      });
    // Without --repair, drift is exit code 4.
    await expect(cli(['reconcile', 'products', '--json'])).rejects.toMatchObject({ code: 4 });
    const repaired = JSON.parse((await cli(['reconcile', 'products', '--repair', '--json'])).stdout);
    expect(repaired.repaired).toBe(7);
    await settled();
    const clean = JSON.parse((await cli(['reconcile', 'products', '--json'])).stdout);
    expect(clean).toMatchObject({ missing: [], stale: [], orphaned: [], diverged: [], ahead: [] });
    // Usage errors are exit code 2 with a message.
    await expect(cli(['reconcile'])).rejects.toMatchObject({ code: 2 });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({ code: 2 });
  });

  it('runs reconcile on a schedule, exports drift as metrics and repairs it', async () => {
    await seed(100);
    await settled();
    const index = (await ns.probe.aliasTargets(h.collection.index.alias))[0]!;
    await ns.probe.delete(index, 'doc-000007', true);
    const service = await spawnService('reconcile-service', 'services/cli/src/main.ts', h.sinkEnv, {
      args: ['reconcile-service', '--interval', '1', '--repair'],
    });
    try {
      await eventually(async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
        expect(metrics).toMatch(/syncline_reconcile_repaired_total\{[^}]*collection="products"[^}]*\} [1-9]/);
      });
      await settled();
      await eventually(async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
        expect(metrics).toMatch(/syncline_reconcile_drift\{[^}]*kind="missing"[^}]*\} 0/);
      });
    } finally {
      await service.kill();
    }
  });
});
