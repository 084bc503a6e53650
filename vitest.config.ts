import { defineConfig } from 'vitest/config';

// Projects mirror the cost of their tests: `unit` needs nothing but Node; `cluster` starts real
// control planes (test/cluster/global-setup.ts); `e2e` adds real engines and the test kubelet.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/golden/**/*.test.ts', 'test/git/**/*.test.ts', 'test/argocd/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Real redis-server / redis-sentinel / mariadbd processes on 127.x addresses, no Kubernetes.
        test: {
          name: 'engines',
          include: ['test/engines/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Control planes + test kubelet (real engines per pod) + the controller.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
