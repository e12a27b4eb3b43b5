// The write service's configuration (docs/configuration.md), validated once at start-up.

import { httpPort, loadConfig as load, relayEnv, sharedEnv, sinkGroupEnv, writeApiEnv } from '@syncline/core';
import { z } from 'zod';

export const configSchema = z.object({
  ...sharedEnv,
  SYNCLINE_HTTP_PORT: httpPort(8080),
  ...writeApiEnv,
  ...relayEnv,
  ...sinkGroupEnv,
});

export type WriteApiConfig = z.infer<typeof configSchema>;

export const loadConfig = (env: Record<string, string | undefined>) => load(configSchema, env);
