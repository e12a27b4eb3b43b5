// The one way Syncline creates a kafkajs client.
import { Kafka, logLevel } from 'kafkajs';

// kafkajs asks Node for negative timeouts in its request queue, and Node ≥ 24 warns about each one
// (TimeoutNegativeWarning, kafkajs issue 1751) on every start. That warning is dropped when it comes
// from kafkajs; every other warning, and this one from anywhere else, is emitted as before.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  const first = rest[0] as string | { type?: string } | undefined;
  const type = typeof first === 'string' ? first : first?.type;
  if (type === 'TimeoutNegativeWarning' && new Error().stack?.includes('kafkajs')) return;
  return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

export interface KafkaOptions {
  clientId: string;
  brokers: string[];
  /** 'warn' for services; 'silent' for the command line, which reports failures itself. */
  log?: 'warn' | 'silent';
}

export function createKafka({ clientId, brokers, log = 'warn' }: KafkaOptions): Kafka {
  return new Kafka({ clientId, brokers, logLevel: log === 'warn' ? logLevel.WARN : logLevel.NOTHING });
}
