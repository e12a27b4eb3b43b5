// One transaction on a pooled connection: commit on success, roll back on any error, always release.
import pg from 'pg';
import { parse } from 'pg-connection-string';

/**
 * A connection pool that outlives PostgreSQL restarts: an idle connection the server cut is dropped
 * and the next query opens a new one (without the listener, pg's 'error' event would end the process).
 */
export function createPool(connectionString: string, max: number, applicationName = 'syncline'): pg.Pool {
  // Timestamps without a zone (a captured table's) are read and written as UTC, as the relay reads
  // them: a setting of the session's start-up, so no statement of its own runs beside the first query.
  // The connection string's own options (or PGOPTIONS) are kept, with the time zone after them.
  const config = parse(connectionString) as pg.PoolConfig;
  const options = `${config.options ?? process.env.PGOPTIONS ?? ''} -c TimeZone=UTC`.trim();
  const pool = new pg.Pool({ ...config, options, max, application_name: applicationName });
  pool.on('error', () => {});
  return pool;
}

/** An error a checked-out connection emits between queries (a server restart); the next query fails instead. */
const ignore = () => {};

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  client.on('error', ignore);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.off('error', ignore);
    client.release();
  }
}
