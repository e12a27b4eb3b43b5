// The one way Syncline creates a kafkajs client.
import { createRequire } from 'node:module';
import { Kafka, logLevel } from 'kafkajs';

// kafkajs 2.2.4 (unmaintained) schedules its request queue's throttle check with a negative timeout
// when it is not throttled, and Node ≥ 24 warns about it (TimeoutNegativeWarning, kafkajs issue 1751)
// in every process. The check is scheduled here with the same delay, never below 0: the warning is gone
// at its cause, and every other warning (this one too, from other code) is printed as before.
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests(): void };
};
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
RequestQueue.prototype.scheduleCheckPendingRequests = function (this: {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}) {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0 && scheduleAt <= 0) scheduleAt = CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(0, scheduleAt),
  );
};

export interface KafkaOptions {
  clientId: string;
  brokers: string[];
  /** 'warn' for services; 'silent' for the command line, which reports failures itself. */
  log?: 'warn' | 'silent';
}

export function createKafka({ clientId, brokers, log = 'warn' }: KafkaOptions): Kafka {
  return new Kafka({ clientId, brokers, logLevel: log === 'warn' ? logLevel.WARN : logLevel.NOTHING });
}
