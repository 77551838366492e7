import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * One vitest config for every package: tests import sibling packages from their TypeScript
 * source (the `@loom/source` export condition), so a test never runs against a stale build.
 * Worker threads are the exception: they load built `dist/` files (see TOOLCHAIN.md).
 */
export default defineConfig({
  ssr: { resolve: { conditions: ['@loom/source', ...defaultServerConditions] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
