// Types what globalSetup provides, for every test file that imports the testkit.
import type { Services } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    services: Services;
  }
}
