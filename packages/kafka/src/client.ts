// The one way Syncline creates its Kafka client: the adapter SYNCLINE_KAFKA_CLIENT names, with the
// security the SYNCLINE_KAFKA_TLS* and SYNCLINE_KAFKA_SASL_* variables describe.
import {
  invalidSetting as invalid,
  readSettingFile as readSetting,
  type SharedConfig,
  secretSetting,
} from '@syncline/core';
import { KafkajsClient } from './kafkajs.ts';
import { PlatformaticClient } from './platformatic.ts';
import type { KafkaClient, KafkaClientName } from './port.ts';

export interface KafkaSecurity {
  /** TLS to the brokers: PEM text; without a CA the system's trusted roots are used. */
  tls?: { ca?: string; cert?: string; key?: string };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export interface KafkaClientOptions {
  /** Which adapter (default kafkajs). */
  client?: KafkaClientName;
  clientId: string;
  brokers: string[];
  /** 'warn' for services; 'silent' for the command line, which reports failures itself. */
  log?: 'warn' | 'silent';
  security?: KafkaSecurity;
}

export function createKafka(options: KafkaClientOptions): KafkaClient {
  return options.client === 'platformatic' ? new PlatformaticClient(options) : new KafkajsClient(options);
}

export type KafkaConfig = Pick<SharedConfig, Extract<keyof SharedConfig, `SYNCLINE_KAFKA_${string}`>>;

/** The security the configuration describes, files read, or a start-up error naming the variable. */
export function kafkaSecurity(config: KafkaConfig): KafkaSecurity {
  const security: KafkaSecurity = {};
  const tlsFiles = {
    ca: config.SYNCLINE_KAFKA_TLS_CA_FILE,
    cert: config.SYNCLINE_KAFKA_TLS_CERT_FILE,
    key: config.SYNCLINE_KAFKA_TLS_KEY_FILE,
  };
  if (!config.SYNCLINE_KAFKA_TLS) {
    const set = Object.entries(tlsFiles).find(([, v]) => v);
    if (set)
      throw invalid(`SYNCLINE_KAFKA_TLS_${set[0].toUpperCase()}_FILE`, 'is set but SYNCLINE_KAFKA_TLS is not true');
  } else {
    if (Boolean(tlsFiles.cert) !== Boolean(tlsFiles.key)) {
      throw invalid(
        tlsFiles.cert ? 'SYNCLINE_KAFKA_TLS_KEY_FILE' : 'SYNCLINE_KAFKA_TLS_CERT_FILE',
        'a client certificate needs both SYNCLINE_KAFKA_TLS_CERT_FILE and SYNCLINE_KAFKA_TLS_KEY_FILE',
      );
    }
    security.tls = {
      ...(tlsFiles.ca && { ca: readSetting('SYNCLINE_KAFKA_TLS_CA_FILE', tlsFiles.ca) }),
      ...(tlsFiles.cert && { cert: readSetting('SYNCLINE_KAFKA_TLS_CERT_FILE', tlsFiles.cert) }),
      ...(tlsFiles.key && { key: readSetting('SYNCLINE_KAFKA_TLS_KEY_FILE', tlsFiles.key) }),
    };
  }
  const mechanism = config.SYNCLINE_KAFKA_SASL_MECHANISM;
  const { SYNCLINE_KAFKA_SASL_USERNAME: username, SYNCLINE_KAFKA_SASL_PASSWORD: password } = config;
  const passwordFile = config.SYNCLINE_KAFKA_SASL_PASSWORD_FILE;
  if (mechanism === 'none') {
    const set = [
      ['SYNCLINE_KAFKA_SASL_USERNAME', username],
      ['SYNCLINE_KAFKA_SASL_PASSWORD', password],
      ['SYNCLINE_KAFKA_SASL_PASSWORD_FILE', passwordFile],
    ].find(([, v]) => v);
    if (set) throw invalid(set[0]!, 'is set but SYNCLINE_KAFKA_SASL_MECHANISM is none');
    return security;
  }
  if (!username) throw invalid('SYNCLINE_KAFKA_SASL_USERNAME', `is required with SASL mechanism ${mechanism}`);
  const secret = secretSetting('SYNCLINE_KAFKA_SASL_PASSWORD', password, passwordFile);
  if (!secret) {
    throw invalid(
      'SYNCLINE_KAFKA_SASL_PASSWORD',
      `or SYNCLINE_KAFKA_SASL_PASSWORD_FILE is required with SASL mechanism ${mechanism}`,
    );
  }
  security.sasl = { mechanism, username, password: secret };
  return security;
}

/** The client a Syncline process uses, from its validated configuration (called once, at start-up). */
export function kafkaFromConfig(config: KafkaConfig, clientId: string, log: 'warn' | 'silent' = 'warn'): KafkaClient {
  return createKafka({
    client: config.SYNCLINE_KAFKA_CLIENT,
    clientId,
    brokers: config.SYNCLINE_KAFKA_BROKERS,
    log,
    security: kafkaSecurity(config),
  });
}
