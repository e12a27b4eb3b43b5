// The one way Syncline creates its search engine client: the adapter SYNCLINE_SEARCH_ENGINE names, at
// SYNCLINE_ES_URL, with the trust and credentials the SYNCLINE_ES_* variables describe; and the
// start-up check that turns a refused connection into an error naming the setting to fix.
import {
  invalidSetting as invalid,
  readSettingFile,
  type SharedConfig,
  type SynclineError,
  secretSetting,
} from '@syncline/core';
import { ElasticsearchEngine } from './elasticsearch.ts';
import { OpenSearchEngine } from './opensearch.ts';
import { type SearchEngine, type SearchEngineName, SearchRequestError } from './port.ts';

/** Where the engine is and how to reach it; PEM text and secrets already read from their files. */
export interface SearchConnection {
  engine: SearchEngineName;
  /** The nodes the client spreads requests over (and fails over between). */
  urls: string[];
  ca?: string | undefined;
  /** SHA-256 of the CA certificate (Elasticsearch's "CA fingerprint"), instead of a CA file. */
  caFingerprint?: string | undefined;
  auth?: { apiKey?: string | undefined; username?: string | undefined; password?: string | undefined } | undefined;
}

export type SearchConfig = Pick<
  SharedConfig,
  'SYNCLINE_SEARCH_ENGINE' | Extract<keyof SharedConfig, `SYNCLINE_ES_${string}`>
>;

const secret = (config: SearchConfig, variable: 'SYNCLINE_ES_API_KEY' | 'SYNCLINE_ES_PASSWORD') =>
  secretSetting(variable, config[variable], config[`${variable}_FILE`]);

/** A node's address as messages show it: never the user information a URL may carry. */
const shown = (urls: string[]) => urls.map((u) => new URL(u).origin).join(', ');

/** The connection the configuration describes, or a start-up error naming the variable. */
export function searchConnection(config: SearchConfig): SearchConnection {
  const engine = config.SYNCLINE_SEARCH_ENGINE;
  if (config.SYNCLINE_ES_URL.some((u) => new URL(u).username || new URL(u).password)) {
    throw invalid(
      'SYNCLINE_ES_URL',
      'carries credentials: give them as SYNCLINE_ES_USERNAME and SYNCLINE_ES_PASSWORD_FILE',
    );
  }
  const schemes = new Set(config.SYNCLINE_ES_URL.map((u) => new URL(u).protocol));
  if (schemes.size > 1) throw invalid('SYNCLINE_ES_URL', 'mixes http:// and https:// nodes');
  const https = schemes.has('https:');
  const { SYNCLINE_ES_CA_FILE: caFile, SYNCLINE_ES_CA_FINGERPRINT: fingerprint } = config;
  if (!https && (caFile || fingerprint)) {
    throw invalid(
      caFile ? 'SYNCLINE_ES_CA_FILE' : 'SYNCLINE_ES_CA_FINGERPRINT',
      'is set but SYNCLINE_ES_URL is not https://',
    );
  }
  if (caFile && fingerprint)
    throw invalid('SYNCLINE_ES_CA_FINGERPRINT', 'set either SYNCLINE_ES_CA_FILE or this, not both');
  if (fingerprint && !/^([0-9a-f]{2}:?){31}[0-9a-f]{2}$/i.test(fingerprint)) {
    throw invalid('SYNCLINE_ES_CA_FINGERPRINT', 'is not a SHA-256 fingerprint (64 hex digits, colons allowed)');
  }
  const apiKey = secret(config, 'SYNCLINE_ES_API_KEY');
  const username = config.SYNCLINE_ES_USERNAME;
  const password = secret(config, 'SYNCLINE_ES_PASSWORD');
  if (apiKey && username) throw invalid('SYNCLINE_ES_USERNAME', 'set either an API key or a username, not both');
  if (username && !password) {
    throw invalid('SYNCLINE_ES_PASSWORD', 'or SYNCLINE_ES_PASSWORD_FILE is required with SYNCLINE_ES_USERNAME');
  }
  if (password && !username) throw invalid('SYNCLINE_ES_USERNAME', 'is required with a password');
  if (engine === 'opensearch') {
    if (apiKey) throw invalid('SYNCLINE_ES_API_KEY', 'OpenSearch takes basic authentication (a username and password)');
    if (fingerprint) throw invalid('SYNCLINE_ES_CA_FINGERPRINT', 'OpenSearch takes a CA file (SYNCLINE_ES_CA_FILE)');
  }
  return {
    engine,
    urls: config.SYNCLINE_ES_URL,
    ca: caFile ? readSettingFile('SYNCLINE_ES_CA_FILE', caFile) : undefined,
    caFingerprint: fingerprint,
    auth: apiKey || username ? { apiKey, username, password } : undefined,
  };
}

export function createSearchEngine(connection: SearchConnection): SearchEngine {
  return connection.engine === 'opensearch' ? new OpenSearchEngine(connection) : new ElasticsearchEngine(connection);
}

/** The engine a Syncline process uses, from its validated configuration (called once, at start-up). */
export function searchFromConfig(config: SearchConfig): SearchEngine {
  return createSearchEngine(searchConnection(config));
}

/**
 * A failure of the start-up check as the setting that causes it: refused credentials, an untrusted
 * certificate, another engine than configured, nobody answering. Undefined for anything else.
 */
export function searchSettingError(err: unknown, config: SearchConfig): SynclineError | undefined {
  if (!(err instanceof SearchRequestError)) return undefined;
  const url = shown(config.SYNCLINE_ES_URL);
  const credentials = config.SYNCLINE_ES_USERNAME
    ? 'SYNCLINE_ES_USERNAME'
    : config.SYNCLINE_ES_API_KEY_FILE
      ? 'SYNCLINE_ES_API_KEY_FILE'
      : 'SYNCLINE_ES_API_KEY';
  const given = Boolean(config.SYNCLINE_ES_USERNAME || config.SYNCLINE_ES_API_KEY || config.SYNCLINE_ES_API_KEY_FILE);
  switch (err.failure) {
    case 'product':
      return invalid(
        'SYNCLINE_SEARCH_ENGINE',
        `is ${config.SYNCLINE_SEARCH_ENGINE}, but ${url} answers otherwise: ${err.message}`,
      );
    case 'tls':
      return invalid(
        config.SYNCLINE_ES_CA_FINGERPRINT ? 'SYNCLINE_ES_CA_FINGERPRINT' : 'SYNCLINE_ES_CA_FILE',
        `the certificate of ${url} is not trusted: ${err.message}`,
      );
    case 'connection':
      return invalid('SYNCLINE_ES_URL', `no search engine answered at ${url}: ${err.message}`);
    case 'response':
      if (err.status === 401) {
        return given
          ? invalid(credentials, `${url} refused these credentials (401)`)
          : invalid(
              'SYNCLINE_ES_API_KEY',
              `${url} requires credentials (401): set an API key or a username and password`,
            );
      }
      if (err.status === 403)
        return invalid(credentials, `${url} accepted these credentials but refused the request (403): ${err.message}`);
      return undefined;
  }
}

/** Whether the engine is away or busy for now (no answer, 5xx, 429), not refusing a setting. */
export const searchUnavailable = (err: unknown): boolean =>
  err instanceof SearchRequestError &&
  (err.failure === 'connection' || (err.status !== undefined && (err.status >= 500 || err.status === 429)));

/**
 * Asks the engine who it is, so that a wrong setting stops a process at start-up with an error naming
 * it, not later as retried failures. An engine away or busy is asked again for `waitMs` first.
 */
export async function checkSearch(
  engine: SearchEngine,
  config: SearchConfig,
  waitMs = 10_000,
): Promise<{ distribution: SearchEngineName; version: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await engine.check();
    } catch (err) {
      if (!(err instanceof SearchRequestError)) throw err;
      if (!searchUnavailable(err) || Date.now() >= deadline) {
        throw (
          searchSettingError(err, config) ??
          invalid(
            'SYNCLINE_ES_URL',
            `${shown(config.SYNCLINE_ES_URL)} did not answer as a search engine: ${err.message}`,
          )
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
