// Pure parts of the test kubelet: which engine a pod runs, which ConfigMap file is its config,
// and the render-config init container's work (placeholders, cluster DNS names → addresses).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SERVER_ID_FILE } from '../../compiler/expand/podtemplate.js';
import type { EngineKind } from './engines.js';

export interface ContainerLike {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ containerPort: number }>;
}

/** The engine a container runs, from its command (or, failing that, its image). */
export function engineKindOf(c: ContainerLike): EngineKind | undefined {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const bin = (argv[0] ?? '').split('/').pop() ?? '';
  if (bin === 'redis-sentinel' || (bin === 'redis-server' && argv.includes('--sentinel'))) return 'sentinel';
  if (bin === 'redis-server') return 'redis';
  if (bin === 'nutcracker') return 'twemproxy';
  if (bin === 'mariadbd' || bin === 'mysqld') return 'mariadb';
  if (bin === 'haproxy') return 'haproxy';
  const image = c.image ?? '';
  if (/sentinel/.test(image)) return 'sentinel';
  if (/redis/.test(image)) return 'redis';
  if (/twemproxy|nutcracker/.test(image)) return 'twemproxy';
  if (/mariadb|mysql/.test(image)) return 'mariadb';
  if (/haproxy/.test(image)) return 'haproxy';
  return undefined;
}

/** The config file name the command line points at (`/config/redis.conf`, `--defaults-file=/config/my.cnf`). */
export function configFileOf(c: ContainerLike): string | undefined {
  for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
    const m = /(?:^|=)(?:\S*\/)?([^/\s=]+\.(?:conf|cnf|ya?ml|cfg))$/.exec(arg);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/** Ordinal of `<instanceset>-<ordinal>`. */
export function ordinalOf(podName: string): number | undefined {
  const m = /-(\d+)$/.exec(podName);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * A MySQL server's id from its pod's UID, as render-config makes it on a new volume (compiler/
 * expand/podtemplate.ts serverIdLines: the UID's first group, hex, modulo 2^32 - 1, plus 1).
 */
export function serverIdFromUid(uid: string): number {
  const first = uid.split('-')[0] ?? '';
  if (!/^[0-9a-fA-F]{1,8}$/.test(first)) throw new Error(`pod UID ${JSON.stringify(uid)}: no hex first group for a server id`);
  return (Number.parseInt(first, 16) % 4294967295) + 1;
}

/**
 * The render-config init container's placeholders (compiler/expand/podtemplate.ts renderScript).
 * `${SERVER_ID}`: from `podUid` when given (MySQL servers, whose render-config has POD_UID), else
 * the ordinal + 1.
 */
export function fillPlaceholders(text: string, v: { podIP: string; podName: string; podUid?: string; serverId?: number; password?: string; username?: string }): string {
  return text
    .replaceAll('${POD_IP}', v.podIP)
    .replaceAll('${POD_NAME}', v.podName)
    .replaceAll('${SERVER_ID}', String(serverIdOf(v)))
    .replaceAll('${PASSWORD}', v.password ?? '')
    .replaceAll('${USERNAME}', v.username ?? 'root');
}

/** Whether the pod's render-config init container has POD_UID (metadata.uid): then its server id comes from the UID. */
export function rendersFromUid(pod: { spec?: { initContainers?: Array<{ name: string; env?: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }> }> } }): boolean {
  const c = pod.spec?.initContainers?.find((x) => x.name === 'render-config');
  return (c?.env ?? []).some((e) => e.name === 'POD_UID' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.uid');
}

/** The server id render-config gives the pod: see fillPlaceholders. */
export function serverIdOf(v: { podName: string; podUid?: string; serverId?: number }): number {
  return v.serverId ?? (v.podUid !== undefined ? serverIdFromUid(v.podUid) : (ordinalOf(v.podName) ?? 0) + 1);
}

/**
 * As render-config with the data volume (serverIdLines): the id kept in `dataDir`, else the one
 * made from `podUid`, written there for the pods that come after on the same volume.
 */
export function keptServerId(dataDir: string, podUid: string): number {
  const file = path.join(dataDir, SERVER_ID_FILE);
  const kept = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (/^\d+$/.test(kept)) return Number(kept);
  const id = serverIdFromUid(podUid);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
  return id;
}

export type DnsName =
  | { kind: 'pod'; pod: string; service: string; namespace: string }
  | { kind: 'service'; service: string; namespace: string };

const DNS_RE = /\b([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?){1,2})\.svc(?:\.cluster\.local)?\b/g;

/** Pure: cluster DNS names in `text` (`<pod>.<svc>.<ns>.svc`, `<svc>.<ns>.svc`, optional `.cluster.local`). */
export function dnsNamesIn(text: string): Array<{ match: string; name: DnsName }> {
  const out: Array<{ match: string; name: DnsName }> = [];
  for (const m of text.matchAll(DNS_RE)) {
    const parts = (m[1] ?? '').split('.');
    if (parts.length === 3) {
      out.push({ match: m[0], name: { kind: 'pod', pod: parts[0]!, service: parts[1]!, namespace: parts[2]! } });
    } else if (parts.length === 2) {
      out.push({ match: m[0], name: { kind: 'service', service: parts[0]!, namespace: parts[1]! } });
    }
  }
  return out;
}

/**
 * Replaces cluster DNS names with addresses (the stand-in for cluster DNS: no resolver runs
 * here). Returns undefined names that do not resolve yet, so the caller can wait like a pod whose
 * init container retries.
 */
export async function resolveDnsNames(
  text: string,
  resolve: (n: DnsName) => Promise<string | undefined>,
): Promise<{ text: string; unresolved: string[] }> {
  let out = text;
  const unresolved: string[] = [];
  for (const { match, name } of dnsNamesIn(text)) {
    const ip = await resolve(name);
    if (ip === undefined) unresolved.push(match);
    else out = out.replaceAll(match, ip);
  }
  return { text: out, unresolved };
}
