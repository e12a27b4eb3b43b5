// The relay service's configuration (docs/configuration.md), validated once at start-up.

import { httpPort, loadConfig as load, relayEnv, relayServiceEnv, sharedEnv } from '@syncline/core';
import { z } from 'zod';

export const configSchema = z
  .object({ ...sharedEnv, SYNCLINE_HTTP_PORT: httpPort(8081), ...relayEnv, ...relayServiceEnv })
  .refine((c) => c.SYNCLINE_RELAY_SHARD < c.SYNCLINE_RELAY_SHARDS, {
    message: 'must be less than SYNCLINE_RELAY_SHARDS',
    path: ['SYNCLINE_RELAY_SHARD'],
  });

export const loadConfig = (env: Record<string, string | undefined>) => load(configSchema, env);
