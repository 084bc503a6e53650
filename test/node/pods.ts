// Pods for the real node's own tests and benchmarks: Pod Security `restricted` (uid/gid 999 as
// the engines' images, fsGroup, RuntimeDefault seccomp, no capabilities), an image imported into
// the node (never pulled), one volume (an emptyDir unless given) mounted at `mountPath`.
import type * as k8s from '@kubernetes/client-node';
import { BUSYBOX_IMAGE } from './node.js';

export interface RestrictedPodOptions {
  image?: string;
  command: string[];
  mountPath?: string;
  /** The volume mounted there (named `data`); default an emptyDir. */
  volume?: k8s.V1Volume;
  /** Merged into the container (ports, probes, resources...). */
  container?: Partial<k8s.V1Container>;
}

export function restrictedPod(name: string, opts: RestrictedPodOptions): k8s.V1Pod {
  const mountPath = opts.mountPath ?? '/data';
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image: opts.image ?? BUSYBOX_IMAGE,
          imagePullPolicy: 'Never',
          command: opts.command,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
          volumeMounts: [{ name: 'data', mountPath }],
          ...opts.container,
        },
      ],
      volumes: [opts.volume ?? { name: 'data', emptyDir: {} }],
    },
  };
}
