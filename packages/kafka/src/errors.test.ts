import { describe, expect, it } from 'vitest';
import { leaderPending } from './errors.ts';

const kafkajsError = (type: string) => Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type });

describe('leaderPending', () => {
  it('is true only when every protocol error is a partition without a leader for now', () => {
    expect(leaderPending(kafkajsError('UNKNOWN_TOPIC_OR_PARTITION'))).toBe(true);
    expect(leaderPending(kafkajsError('NOT_LEADER_FOR_PARTITION'))).toBe(true);
    // kafkajs wraps the cause of its last retry.
    expect(
      leaderPending(Object.assign(new Error('retries'), { originalError: kafkajsError('LEADER_NOT_AVAILABLE') })),
    ).toBe(true);
    // @platformatic/kafka aggregates one error per failed item, each named by apiId.
    expect(
      leaderPending({
        code: 'PLT_KFK_MULTIPLE',
        errors: [{ apiId: 'NOT_LEADER_OR_FOLLOWER' }, { apiId: 'LEADER_NOT_AVAILABLE' }],
      }),
    ).toBe(true);
    // Another failure beside it is not hidden.
    expect(
      leaderPending({
        code: 'PLT_KFK_MULTIPLE',
        errors: [{ apiId: 'LEADER_NOT_AVAILABLE' }, { apiId: 'INVALID_REPLICATION_FACTOR' }],
      }),
    ).toBe(false);
    expect(leaderPending(kafkajsError('TOPIC_AUTHORIZATION_FAILED'))).toBe(false);
    expect(leaderPending(new Error('ECONNREFUSED'))).toBe(false);
  });
});
