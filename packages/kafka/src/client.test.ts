import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type KafkaConfig, kafkaSecurity } from './client.ts';

const base: KafkaConfig = {
  SYNCLINE_KAFKA_BROKERS: ['127.0.0.1:9094'],
  SYNCLINE_KAFKA_CLIENT: 'kafkajs',
  SYNCLINE_KAFKA_TLS: false,
  SYNCLINE_KAFKA_SASL_MECHANISM: 'none',
};
const dir = mkdtempSync(join(tmpdir(), 'syncline-kafka-security-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('Kafka security settings', () => {
  it('is nothing by default, and reads TLS files and a password file', () => {
    expect(kafkaSecurity(base)).toEqual({});
    const security = kafkaSecurity({
      ...base,
      SYNCLINE_KAFKA_TLS: true,
      SYNCLINE_KAFKA_TLS_CA_FILE: file('ca.pem', 'CA PEM'),
      SYNCLINE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      SYNCLINE_KAFKA_SASL_USERNAME: 'app',
      SYNCLINE_KAFKA_SASL_PASSWORD_FILE: file('password', 's3cret\n'),
    });
    expect(security).toEqual({
      tls: { ca: 'CA PEM' },
      sasl: { mechanism: 'scram-sha-512', username: 'app', password: 's3cret' },
    });
    expect(kafkaSecurity({ ...base, SYNCLINE_KAFKA_TLS: true })).toEqual({ tls: {} });
  });

  it('refuses incomplete or contradictory settings with a message naming the variable', () => {
    const refused = (config: Partial<KafkaConfig>) => {
      try {
        kafkaSecurity({ ...base, ...config });
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ SYNCLINE_KAFKA_SASL_MECHANISM: 'plain' })).toMatch(/SYNCLINE_KAFKA_SASL_USERNAME: is required/);
    expect(refused({ SYNCLINE_KAFKA_SASL_MECHANISM: 'plain', SYNCLINE_KAFKA_SASL_USERNAME: 'u' })).toMatch(
      /SYNCLINE_KAFKA_SASL_PASSWORD: or SYNCLINE_KAFKA_SASL_PASSWORD_FILE is required/,
    );
    expect(
      refused({
        SYNCLINE_KAFKA_SASL_MECHANISM: 'plain',
        SYNCLINE_KAFKA_SASL_USERNAME: 'u',
        SYNCLINE_KAFKA_SASL_PASSWORD: 'p',
        SYNCLINE_KAFKA_SASL_PASSWORD_FILE: '/x',
      }),
    ).toMatch(/SYNCLINE_KAFKA_SASL_PASSWORD_FILE: set either/);
    expect(refused({ SYNCLINE_KAFKA_SASL_USERNAME: 'u' })).toMatch(/SYNCLINE_KAFKA_SASL_USERNAME: is set but .*none/);
    expect(refused({ SYNCLINE_KAFKA_TLS_CA_FILE: '/x' })).toMatch(
      /SYNCLINE_KAFKA_TLS_CA_FILE: is set but SYNCLINE_KAFKA_TLS/,
    );
    expect(refused({ SYNCLINE_KAFKA_TLS: true, SYNCLINE_KAFKA_TLS_CA_FILE: join(dir, 'missing.pem') })).toMatch(
      /SYNCLINE_KAFKA_TLS_CA_FILE: cannot read .*missing\.pem/,
    );
    expect(refused({ SYNCLINE_KAFKA_TLS: true, SYNCLINE_KAFKA_TLS_CERT_FILE: file('c', 'C') })).toMatch(
      /SYNCLINE_KAFKA_TLS_KEY_FILE: a client certificate needs both/,
    );
    // A secret is never part of the message.
    expect(
      refused({
        SYNCLINE_KAFKA_SASL_MECHANISM: 'plain',
        SYNCLINE_KAFKA_SASL_USERNAME: 'u',
        SYNCLINE_KAFKA_SASL_PASSWORD: 'hunter2',
        SYNCLINE_KAFKA_SASL_PASSWORD_FILE: '/x',
      }),
    ).not.toContain('hunter2');
  });
});
