// Where the tests' real services come from, in this order:
//   1. explicit URLs from the environment (SYNCLINE_PG_URL, SYNCLINE_KAFKA_BROKERS, SYNCLINE_ES_URL);
//   2. testcontainers, when a Docker engine answers;
//   3. the project's local stack (stack/stack.sh up), the same processes `./dev up` uses.
// The same test code runs against all three.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './processes.ts';

export interface Services {
  mode: 'env' | 'testcontainers' | 'local';
  /** A database the tests own; each suite creates its own schema in it. */
  pgUrl: string;
  kafkaBrokers: string[];
  /** Elasticsearch, the default search engine. */
  esUrl: string;
  /** OpenSearch (SYNCLINE_OPENSEARCH_URL, or the local stack's node). */
  opensearchUrl?: string | undefined;
  /** The local stack's secured Elasticsearch node (HTTPS with its own CA, x-pack security). */
  secureEs?: SecureSearchNode;
  /** The local stack's SASL_SSL listener of the same broker (stack.sh), when the services are the local stack. */
  kafkaSecure?: KafkaSecureListener;
}

export interface KafkaSecureListener {
  brokers: string[];
  /** The CA that signed the broker's certificate (PEM). */
  caFile: string;
  /** A CA that did not (PEM): what an untrusted certificate looks like to a client. */
  otherCaFile: string;
  username: string;
  passwordFile: string;
}

export interface SecureSearchNode {
  url: string;
  /** The CA that signed the node's certificate (PEM), and its SHA-256 fingerprint. */
  caFile: string;
  caFingerprint: string;
  /** A CA that did not (PEM). */
  otherCaFile: string;
  /** An API key of user syncline (its encoded form), and that user's password. */
  apiKeyFile: string;
  username: string;
  passwordFile: string;
}

export interface StartedServices {
  services: Services;
  stop(): Promise<void>;
}

const ES_IMAGE_VERSION = '9.5.0';
const KAFKA_IMAGE_VERSION = '3.9.2';

export async function startServices(env: Record<string, string | undefined> = process.env): Promise<StartedServices> {
  if (env.SYNCLINE_PG_URL && env.SYNCLINE_KAFKA_BROKERS && env.SYNCLINE_ES_URL) {
    return {
      services: {
        mode: 'env',
        pgUrl: env.SYNCLINE_PG_URL,
        kafkaBrokers: env.SYNCLINE_KAFKA_BROKERS.split(','),
        esUrl: env.SYNCLINE_ES_URL,
        opensearchUrl: env.SYNCLINE_OPENSEARCH_URL,
      },
      stop: async () => {},
    };
  }
  if (env.SYNCLINE_TEST_SERVICES !== 'local' && (await dockerReachable(env))) return startContainers();
  return startLocalStack(env);
}

async function dockerReachable(env: Record<string, string | undefined>): Promise<boolean> {
  if (env.DOCKER_HOST) return true;
  const socket = '/var/run/docker.sock';
  if (!existsSync(socket)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function startContainers(): Promise<StartedServices> {
  const [{ PostgreSqlContainer }, { KafkaContainer }, { ElasticsearchContainer }] = await Promise.all([
    import('@testcontainers/postgresql'),
    import('@testcontainers/kafka'),
    import('@testcontainers/elasticsearch'),
  ]);
  const [pg, kafka, es] = await Promise.all([
    new PostgreSqlContainer('postgres:15').withDatabase('syncline_test').start(),
    new KafkaContainer(`apache/kafka:${KAFKA_IMAGE_VERSION}`).withKraft().start(),
    new ElasticsearchContainer(`docker.elastic.co/elasticsearch/elasticsearch:${ES_IMAGE_VERSION}`)
      .withEnvironment({ 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms1g -Xmx1g' })
      .start(),
  ]);
  return {
    services: {
      mode: 'testcontainers',
      pgUrl: pg.getConnectionUri(),
      kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
      esUrl: es.getHttpUrl(),
    },
    stop: async () => {
      await Promise.all([pg.stop(), kafka.stop(), es.stop()]);
    },
  };
}

async function startLocalStack(env: Record<string, string | undefined>): Promise<StartedServices> {
  try {
    await promisify(execFile)('bash', [`${REPO_ROOT}stack/stack.sh`, 'up', 'all'], { env: { ...process.env, ...env } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`the local stack did not come up:\n${e.stderr ?? e.message}`);
  }
  const pgPort = env.SYNCLINE_PG_PORT ?? '5432';
  const state = env.SYNCLINE_STATE_DIR ?? join(REPO_ROOT, '.stack');
  const tls = join(state, 'kafka', 'tls');
  const esAuth = join(state, 'elasticsearch-secure-auth');
  return {
    services: {
      mode: 'local',
      pgUrl: `postgres://postgres@127.0.0.1:${pgPort}/syncline_test`,
      kafkaBrokers: [`127.0.0.1:${env.SYNCLINE_KAFKA_PORT ?? '9092'}`],
      esUrl: `http://127.0.0.1:${env.SYNCLINE_ES_PORT ?? '9200'}`,
      opensearchUrl: `http://127.0.0.1:${env.SYNCLINE_OPENSEARCH_PORT ?? '9201'}`,
      secureEs: {
        url: `https://127.0.0.1:${env.SYNCLINE_ES_SECURE_PORT ?? '9202'}`,
        caFile: join(esAuth, 'ca.pem'),
        caFingerprint: readFileSync(join(esAuth, 'ca.fingerprint'), 'utf8').trim(),
        otherCaFile: join(esAuth, 'other-ca.pem'),
        apiKeyFile: join(esAuth, 'api-key'),
        username: 'syncline',
        passwordFile: join(esAuth, 'syncline.password'),
      },
      kafkaSecure: {
        brokers: [`127.0.0.1:${env.SYNCLINE_KAFKA_SECURE_PORT ?? '9094'}`],
        caFile: join(tls, 'ca.pem'),
        otherCaFile: join(tls, 'other-ca.pem'),
        username: 'syncline',
        passwordFile: join(tls, 'syncline.password'),
      },
    },
    // The local stack is shared with other runs and developers: leave it running.
    stop: async () => {},
  };
}
