import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('write-api configuration', () => {
  it('has defaults for the local stack', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      SYNCLINE_HTTP_HOST: '127.0.0.1',
      SYNCLINE_HTTP_PORT: 8080,
      SYNCLINE_KAFKA_BROKERS: ['127.0.0.1:9092'],
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names every invalid variable', () => {
    expect(() =>
      loadConfig({ SYNCLINE_HTTP_PORT: 'eighty', SYNCLINE_PG_URL: 'not a url', SYNCLINE_EMBEDDED_RELAY: 'yes' }),
    ).toThrow(
      expect.objectContaining({
        code: 'SYNC_CONFIG_INVALID',
        message: expect.stringMatching(
          /SYNCLINE_PG_URL[\s\S]*SYNCLINE_HTTP_PORT[\s\S]*SYNCLINE_EMBEDDED_RELAY|SYNCLINE_HTTP_PORT/,
        ),
      }),
    );
    try {
      loadConfig({ SYNCLINE_HTTP_PORT: 'eighty', SYNCLINE_PG_URL: 'not a url' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('SYNCLINE_HTTP_PORT');
      expect(message).toContain('SYNCLINE_PG_URL');
    }
  });
});
