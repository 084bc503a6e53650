// The pod template of an InstanceSet. Every pod meets the Pod Security "restricted" standard:
// non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, on every
// container including the init container.

import { hash } from 'node:crypto';
import type { PodTemplateSpec } from '../../schemas/types/index.js';
import type { ResolvedResources, ResolvedTopology } from '../model.js';
import { CONFIG_DIR, TEMPLATE_DIR } from './configmaps.js';
import { instanceSetSelector, podLabels, type Component } from './labels.js';
import { names } from '../names.js';
import { constant, fragment } from './fragment.js';

/** The uid/gid of the official redis and mysql/mariadb images' service user. */
export const RUN_AS = 999;
export const ZONE_KEY = 'topology.kubernetes.io/zone';
export const HOST_KEY = 'kubernetes.io/hostname';
export const CONFIG_HASH_ANNOTATION = 'dbtopo.dev/config-hash';

export interface PodPlan {
  topology: ResolvedTopology;
  component: Component;
  instanceSet: string;
  shardLabel?: string;
  containerName: string;
  image: string;
  command: string[];
  port: { name: string; number: number };
  resources: ResolvedResources;
  /** Where the `data` volume claim is mounted; undefined: no persistent data (emptyDir). */
  dataMount?: string;
  dataDir: string;
  /** Files of the ConfigMap; their hash rolls the pods when a config changes. */
  configFiles: Record<string, string>;
  /**
   * Init containers run after render-config, in order, with the rendered config and the data
   * volume mounted and the server's resources (e.g. MariaDB's data-directory initialisation).
   */
  initSteps?: Array<{ name: string; script: string }>;
  /**
   * The engine's own readiness check, run in the container (exec probe); undefined: the port
   * accepting connections (tcpSocket), enough for Sentinels and proxies.
   */
  readinessCommand?: string[];
  /**
   * MySQL servers: `${SERVER_ID}` is kept in the data volume, made from the pod's UID (POD_UID,
   * downward API) on a new volume, so a moved ordinal's new pod never shares its old pod's server
   * id (see serverIdLines). Other components fill it from the ordinal, as before.
   */
  serverIdFromUid?: boolean;
  /** Spread and anti-affinity apply to servers and sentinels, where losing two pods at once hurts. */
  spread: boolean;
  antiAffinity: 'required' | 'preferred' | 'none';
}

const containerSecurity = constant({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  seccompProfile: { type: 'RuntimeDefault' },
});

const podSecurity = constant({
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  fsGroup: RUN_AS,
  seccompProfile: { type: 'RuntimeDefault' },
});

/**
 * A MySQL server's id: kept in its data directory (SERVER_ID_FILE), made on the first start on a
 * new volume from that pod's UID: the UID's first group (8 hex digits, random in a v4 UUID) modulo
 * 2^32 - 1, plus 1: 1 … 4294967295, MariaDB's range, never 0. So the id names the data directory,
 * as MariaDB assumes: a pod recreated on its claim (rolling update) keeps it (gtid_current_pos
 * counts the binlog's GTIDs as the server's own only when they carry its server id: a new id over
 * the old binlog would make a former primary fetch and apply its own transactions again), while
 * the new pod of a moved ordinal (a new claim in another member cluster, docs/federation.md) gets
 * its own: a replica skips the events of its own id, so with the old pod's id it would miss what
 * the old one wrote. Plain POSIX sh (hex constants in $((…))): Debian's dash and busybox sh alike.
 * An unset or non-hex UID, or a kept id that is not a number, fails the init container.
 * test/kubelet/render.ts serverIdFromUid is the same function.
 */
export const SERVER_ID_FILE = '.dbtopo-server-id';
export function serverIdLines(dataDir: string): string[] {
  const file = `${dataDir}/${SERVER_ID_FILE}`;
  return [
    `if [ -s "${file}" ]; then SERVER_ID="$(cat "${file}")"; else`,
    '  SERVER_ID=$(( 0x${POD_UID%%-*} % 4294967295 + 1 ))',
    `  echo "$SERVER_ID" > "${file}"`,
    'fi',
    'case "$SERVER_ID" in ""|*[!0-9]*) echo "bad server id: $SERVER_ID" >&2; exit 1;; esac',
  ];
}

// Fills the placeholders of every config file (see configmaps.ts) into the writable config dir.
const RENDER_LOOP = [
  `for f in ${TEMPLATE_DIR}/*; do`,
  '  sed -e "s|\\${POD_IP}|${POD_IP}|g" -e "s|\\${POD_NAME}|${POD_NAME}|g" \\',
  '      -e "s|\\${SERVER_ID}|${SERVER_ID}|g" -e "s|\\${PASSWORD}|${PASSWORD:-}|g" \\',
  '      -e "s|\\${USERNAME}|${USERNAME:-root}|g" \\',
  `      "$f" > "${CONFIG_DIR}/$(basename "$f")"`,
  'done',
];

function renderScript(idDir: string | undefined): string {
  return [
    'set -eu',
    ...(idDir !== undefined ? serverIdLines(idDir) : ['ordinal="${POD_NAME##*-}"', 'SERVER_ID=$((ordinal + 1))']),
    ...RENDER_LOOP,
  ].join('\n');
}

/**
 * What a pod's containers are made of: the same for every InstanceSet of one image, command,
 * resources and probe, so the containers are one fragment (fragment.ts) for all of them.
 */
interface ContainerInputs {
  name: string;
  image: string;
  pullPolicy: string;
  command: string[];
  port: { name: string; number: number };
  resources: ResolvedResources;
  credentials: ResolvedTopology['credentials'] | null;
  /** Where the data volume is mounted. */
  dataPath: string;
  serverIdFromUid: boolean;
  initSteps: Array<{ name: string; script: string }>;
  readinessCommand: string[] | null;
  probe: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number };
}

function containerInputs(p: PodPlan): ContainerInputs {
  const t = p.topology;
  return {
    name: p.containerName,
    image: p.image,
    pullPolicy: t.imagePullPolicy,
    command: p.command,
    port: p.port,
    resources: p.resources,
    credentials: t.credentials ?? null,
    dataPath: p.dataMount ?? p.dataDir,
    serverIdFromUid: p.serverIdFromUid === true,
    initSteps: p.initSteps ?? [],
    readinessCommand: p.readinessCommand ?? null,
    probe: { periodSeconds: t.probe.periodSeconds, timeoutSeconds: t.probe.timeoutSeconds, failureThreshold: t.probe.failureThreshold },
  };
}

function env(c: ContainerInputs, podUid = false): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
  ];
  if (podUid) out.push({ name: 'POD_UID', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } } });
  const pw = c.credentials?.password;
  if (pw) out.push({ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: pw.name, key: pw.key } } });
  const user = c.credentials?.username;
  if (user) out.push({ name: 'USERNAME', valueFrom: { secretKeyRef: { name: user.name, key: user.key } } });
  return out;
}

export function configHash(files: Record<string, string>): string {
  // One-shot hash of the same bytes as update(k, "\0", text, "\0") per file: no Hash object per call.
  let data = '';
  for (const k of Object.keys(files).sort()) data += `${k}\0${files[k] ?? ''}\0`;
  return hash('sha256', data, 'hex').slice(0, 16);
}

function resources(r: ResolvedResources): Record<string, Record<string, string>> {
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** An init container of the pod's image that runs `script` with sh. */
function scriptContainer(
  c: ContainerInputs,
  name: string,
  script: string,
  res: Record<string, Record<string, string>>,
  volumeMounts: Array<Record<string, unknown>>,
  podUid = false,
): Record<string, unknown> {
  return {
    name,
    image: c.image,
    imagePullPolicy: c.pullPolicy,
    command: ['sh', '-c', script],
    env: env(c, podUid),
    resources: res,
    volumeMounts,
    securityContext: containerSecurity,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

function mountsOf(dataPath: string): Array<Record<string, unknown>> {
  return [
    { name: 'config', mountPath: CONFIG_DIR },
    { name: 'data', mountPath: dataPath },
  ];
}

function initContainersOf(c: ContainerInputs): Array<Record<string, unknown>> {
  return [
    scriptContainer(
      c,
      'render-config',
      renderScript(c.serverIdFromUid ? c.dataPath : undefined),
      { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
      [
        { name: 'config-template', mountPath: TEMPLATE_DIR, readOnly: true },
        { name: 'config', mountPath: CONFIG_DIR },
        // MySQL servers: the data volume, where their server id is kept.
        ...(c.serverIdFromUid ? [{ name: 'data', mountPath: c.dataPath }] : []),
      ],
      c.serverIdFromUid,
    ),
    ...c.initSteps.map((step) => scriptContainer(c, step.name, step.script, resources(c.resources), mountsOf(c.dataPath))),
  ];
}

function containersOf(c: ContainerInputs): PodTemplateSpec['spec']['containers'] {
  const probe = {
    ...(c.readinessCommand !== null ? { exec: { command: c.readinessCommand } } : { tcpSocket: { port: c.port.name } }),
    initialDelaySeconds: 0,
    periodSeconds: c.probe.periodSeconds,
    timeoutSeconds: c.probe.timeoutSeconds,
    successThreshold: 1,
    failureThreshold: c.probe.failureThreshold,
  };
  return [
    {
      name: c.name,
      image: c.image,
      imagePullPolicy: c.pullPolicy,
      command: c.command,
      ports: [{ name: c.port.name, containerPort: c.port.number, protocol: 'TCP' }],
      env: env(c),
      resources: resources(c.resources),
      volumeMounts: mountsOf(c.dataPath),
      readinessProbe: probe,
      securityContext: containerSecurity,
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
  ];
}

/** Both lists of a pod's containers, each a fragment of its own (the writer keeps each one's YAML). */
function containersOfPod(c: ContainerInputs): Pick<PodTemplateSpec['spec'], 'initContainers' | 'containers'> {
  return { initContainers: constant(initContainersOf(c)), containers: constant(containersOf(c)) };
}

function volumesOf(config: string, dataVolume: boolean): Array<Record<string, unknown>> {
  const volumes: Array<Record<string, unknown>> = [
    { name: 'config-template', configMap: { name: config, defaultMode: 0o444 } },
    { name: 'config', emptyDir: {} },
  ];
  if (!dataVolume) volumes.push({ name: 'data', emptyDir: {} });
  return volumes;
}

export function podTemplate(p: PodPlan): PodTemplateSpec {
  const t = p.topology;
  const selector = { matchLabels: instanceSetSelector(t, p.component, p.instanceSet) };
  const { initContainers, containers } = fragment(containersOfPod, containerInputs(p));
  const spec: PodTemplateSpec['spec'] = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity,
    initContainers,
    containers,
    volumes: fragment(volumesOf, names.config(p.instanceSet), p.dataMount !== undefined),
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    terminationGracePeriodSeconds: 30,
  };
  if (Object.keys(t.placement.nodeSelector).length > 0) spec.nodeSelector = { ...t.placement.nodeSelector };
  if (p.spread && t.placement.zoneSpread) {
    spec.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: 'DoNotSchedule', labelSelector: selector },
    ];
  }
  if (p.spread && p.antiAffinity === 'required') {
    spec.affinity = {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: selector, topologyKey: HOST_KEY }] },
    };
  } else if (p.spread && p.antiAffinity === 'preferred') {
    spec.affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: selector, topologyKey: HOST_KEY } },
        ],
      },
    };
  }
  return {
    metadata: {
      labels: podLabels(t, p.component, p.instanceSet, p.shardLabel),
      annotations: { [CONFIG_HASH_ANNOTATION]: configHash(p.configFiles) },
    },
    spec,
  };
}
