import { defineConfig } from 'vitest/config';

// Projects mirror the cost of their tests: `unit` needs nothing but Node; `cluster` starts real
// control planes (test/cluster/global-setup.ts); `e2e` adds real engines and the test kubelet.
// groupOrder runs them one after the other, cheapest first: on 2 cores, control planes and
// engine processes of two projects at once would only make both slower and flakier.
export default defineConfig({
  test: {
    // the default reporter, then each project's total time (test/support/project-times.ts)
    reporters: ['default', './test/support/project-times.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts', 'test/golden/**/*.test.ts', 'test/git/**/*.test.ts', 'test/argocd/**/*.test.ts'],
          testTimeout: 30_000,
          // Every fragment built again on each use and compared (compiler/expand/fragment.ts).
          env: { DBTOPO_CHECK_FRAGMENTS: '1' },
        },
      },
      {
        test: {
          name: 'cluster',
          sequence: { groupOrder: 2 },
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
          sequence: { groupOrder: 1 },
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
          sequence: { groupOrder: 3 },
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // A real Argo CD (test/gitops/build-argocd.sh builds it from its Go module): the health
        // checks under Argo CD's Lua code, then Argo CD syncing the rendered repo into control planes.
        test: {
          name: 'gitops',
          sequence: { groupOrder: 4 },
          include: ['test/gitops/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts', 'test/gitops/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // A real node (test/node/node.ts): kubelet, kube-proxy and kube-scheduler from the API
        // server's version, containerd + runc + CNI bridge from Debian's packages, pods from
        // images built without a registry. Each file starts its own control plane and node.
        test: {
          name: 'node',
          sequence: { groupOrder: 5 },
          include: ['test/node/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
      {
        // Several member clusters and a federation API server (test/federation/global-setup.ts):
        // test kubelets of member-a and member-b on one flat pod network (partitions between
        // their subnets), a member controller each, the dbtopo CRDs and cluster Secrets on the
        // federation control plane (test/federation/harness.ts).
        test: {
          name: 'federation',
          sequence: { groupOrder: 6 },
          include: ['test/federation/**/*.test.ts'],
          globalSetup: ['test/federation/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
