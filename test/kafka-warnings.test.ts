// kafkajs on Node ≥ 24 printed a TimeoutNegativeWarning in every process that used it (kafkajs issue
// 1751). Through createKafka it prints none (with either client), and the same warning from other code
// still prints.
import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';

describe('createKafka', () => {
  it('leaves no TimeoutNegativeWarning of kafkajs, and hides no other warning', () => {
    const brokers = inject('services').kafkaBrokers;
    const script = `
      import { createKafka } from '@syncline/kafka';
      for (const client of ['kafkajs', 'platformatic']) {
        const admin = await createKafka({ client, clientId: 'warning-test', brokers: ${JSON.stringify(brokers)}, log: 'silent' }).admin();
        await admin.listTopics();
        await admin.close();
      }
      setTimeout(() => {}, -7);`;
    // Node prints warnings on stderr: the shell merges it into what is returned.
    const out = execFileSync('sh', ['-c', `"${process.execPath}" --input-type=module -e "$0" 2>&1`, script], {
      cwd: new URL('.', import.meta.url).pathname, // resolves @syncline/kafka from test/
      encoding: 'utf8',
    });
    expect(out.match(/TimeoutNegativeWarning/g) ?? []).toHaveLength(1);
    expect(out).toContain('-7 is a negative number');
  });
});
