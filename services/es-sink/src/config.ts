// The sink's configuration (docs/configuration.md), validated once at start-up.

import { httpPort, loadConfig as load, sharedEnv, sinkEnv } from '@syncline/core';
import { z } from 'zod';

export const configSchema = z.object({ ...sharedEnv, SYNCLINE_HTTP_PORT: httpPort(8082), ...sinkEnv });

export type SinkConfig = z.infer<typeof configSchema>;

export const loadConfig = (env: Record<string, string | undefined>) => load(configSchema, env);
