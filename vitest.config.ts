import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database (a temp SQLite file, or a fresh PostgreSQL
    // database), so files run in parallel without seeing each other's rows.
    pool: 'forks',
  },
});
