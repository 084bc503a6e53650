// Pure: the pod status the test kubelet writes, from what it knows about the pod's process.
import type * as k8s from '@kubernetes/client-node';

export interface PodRuntimeView {
  phase: 'Pending' | 'Running';
  podIP?: string;
  hostIP: string;
  startTime: Date;
  /** Init (config render) finished. */
  initialized: boolean;
  /** Why initialisation waits, shown in the Initialized condition. */
  initMessage?: string;
  containerName: string;
  image: string;
  initContainerName?: string;
  running: boolean;
  ready: boolean;
  restartCount: number;
  pid?: number;
  startedAt?: Date;
  lastExit?: { code: number | null; signal: string | null; at: Date };
}

function cond(type: string, ok: boolean, since: Date, message?: string): k8s.V1PodCondition {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: since,
    ...(message !== undefined && !ok ? { message } : {}),
  };
}

export function podStatus(v: PodRuntimeView, transitions: Map<string, { ok: boolean; at: Date }>): k8s.V1PodStatus {
  const now = new Date();
  const at = (type: string, ok: boolean): Date => {
    const prev = transitions.get(type);
    if (prev !== undefined && prev.ok === ok) return prev.at;
    transitions.set(type, { ok, at: now });
    return now;
  };
  const containerReady = v.running && v.ready;
  const state: k8s.V1ContainerState = v.running
    ? { running: { startedAt: v.startedAt ?? now } }
    : v.initialized
      ? { waiting: { reason: v.restartCount > 0 || v.lastExit !== undefined ? 'CrashLoopBackOff' : 'ContainerCreating' } }
      : { waiting: { reason: 'PodInitializing' } };
  const lastState: k8s.V1ContainerState = v.lastExit
    ? {
        terminated: {
          exitCode: v.lastExit.code ?? 137,
          ...(v.lastExit.signal !== null ? { signal: signalNumber(v.lastExit.signal), reason: 'Error' } : { reason: v.lastExit.code === 0 ? 'Completed' : 'Error' }),
          finishedAt: v.lastExit.at,
        },
      }
    : {};
  const status: k8s.V1PodStatus = {
    phase: v.phase,
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    startTime: v.startTime,
    conditions: [
      cond('PodScheduled', true, at('PodScheduled', true)),
      cond('Initialized', v.initialized, at('Initialized', v.initialized), v.initMessage),
      cond('ContainersReady', containerReady, at('ContainersReady', containerReady)),
      cond('Ready', containerReady, at('Ready', containerReady)),
    ],
    containerStatuses: [
      {
        name: v.containerName,
        image: v.image,
        imageID: '',
        ...(v.pid !== undefined && v.running ? { containerID: `dbtopo-test://${v.pid}` } : {}),
        ready: containerReady,
        started: v.running,
        restartCount: v.restartCount,
        state,
        lastState,
      },
    ],
  };
  if (v.podIP !== undefined) {
    status.podIP = v.podIP;
    status.podIPs = [{ ip: v.podIP }];
  }
  if (v.initContainerName !== undefined) {
    status.initContainerStatuses = [
      {
        name: v.initContainerName,
        image: v.image,
        imageID: '',
        ready: v.initialized,
        restartCount: 0,
        state: v.initialized
          ? { terminated: { exitCode: 0, reason: 'Completed', finishedAt: v.startedAt ?? now } }
          : { running: { startedAt: v.startTime } },
      },
    ];
  }
  return status;
}

function signalNumber(signal: string): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGSTOP: 19 };
  return table[signal] ?? 0;
}
