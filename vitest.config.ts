import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
    // Parsing the real checkpoints and 78 golden inputs takes a few seconds on a slow CPU.
    testTimeout: 60000,
  },
});
