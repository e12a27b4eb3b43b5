// What every CLI command needs (Context), built once from the validated configuration.
import { httpPort, loadConfig as load, SynclineError, sharedEnv, sinkGroupEnv } from '@syncline/core';
import { kafkaFromConfig } from '@syncline/kafka';
import { createPool, migrate } from '@syncline/outbox';
import { type Collection, findCollection, loadDeclaration } from '@syncline/schema';
import { checkSearch, searchFromConfig } from '@syncline/search';
import pg from 'pg';
import { z } from 'zod';

/** The command's configuration (docs/configuration.md); the port is the reconcile service's. */
export const configSchema = z.object({ ...sharedEnv, ...sinkGroupEnv, SYNCLINE_HTTP_PORT: httpPort(8083) });

export type Context = ReturnType<typeof createContext>;

export function createContext(env: Record<string, string | undefined>) {
  const config = load(configSchema, env);
  const declaration = loadDeclaration(config.SYNCLINE_COLLECTIONS);
  const pool = createPool(config.SYNCLINE_PG_URL, 4);
  const kafka = kafkaFromConfig(config, 'syncline-cli', 'silent');
  const search = searchFromConfig(config);
  return {
    declaration,
    pool,
    kafka,
    search,
    sinkGroup: config.SYNCLINE_SINK_GROUP,
    http: { host: config.SYNCLINE_HTTP_HOST, port: config.SYNCLINE_HTTP_PORT },
    collection(name: string | undefined): Collection {
      if (!name) throw new SynclineError('SYNC_USAGE', 'name a collection');
      const c = findCollection(declaration, name);
      if (!c) {
        throw new SynclineError(
          'SYNC_UNKNOWN_COLLECTION',
          `no collection '${name}' (declared: ${declaration.collections.map((x) => x.name).join(', ')})`,
        );
      }
      return c;
    },
    /** Asks the search engine who it is: a setting it refuses stops the command, naming the setting. */
    checkSearch: () => checkSearch(search, config, 0),
    /** Ensures Syncline's tables (the operations keep their progress there). */
    migrate: () => migrate(pool, declaration),
    async close() {
      await pool.end();
      await search.close();
    },
  };
}

/** Progress on stderr for long work: done/total, rate and ETA; silent when not a terminal or --json. */
export function progress(label: string, initialTotal: number, enabled: boolean) {
  let total = initialTotal;
  const start = Date.now();
  let last = 0;
  return (done: number, knownTotal?: number) => {
    if (knownTotal) total = knownTotal;
    if (!enabled || Date.now() - last < 250) return;
    last = Date.now();
    const secs = (Date.now() - start) / 1000;
    const perSec = done / Math.max(secs, 0.001);
    const eta = total > done && perSec > 0 ? Math.ceil((total - done) / perSec) : 0;
    const width = 30;
    const filled = total ? Math.min(width, Math.round((done / total) * width)) : 0;
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.round(perSec)}/s ETA ${eta}s   `,
    );
  };
}
