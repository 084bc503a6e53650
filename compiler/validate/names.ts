// The Kubernetes names a topology will produce (see the naming contract in the compiler brief),
// so that a name too long for the API server is caught here, at the line that causes it.
import type { Topology } from '../../schemas/types/topology.js';

export const MAX_NAME = 63;

export interface GeneratedName {
  name: string;
  what: string;
}

/** The longest name of each kind; enough to decide whether all names fit. */
export function generatedNames(t: Topology): GeneratedName[] {
  const out: GeneratedName[] = [];
  const lastShard = Math.max(0, (t.shards ?? 1) - 1);
  const server = t.mode === 'sharded' ? `${t.name}-shard-${lastShard}` : `${t.name}-server`;
  const set = (is: string, replicas: number, what: string) => {
    out.push({ name: `${is}-${Math.max(0, replicas - 1)}`, what: `${what} pod` });
    out.push({ name: `${is}-headless`, what: `${what} headless Service` });
  };
  set(server, t.replicas, 'server');
  out.push({ name: `${server}-replicas`, what: 'replicas Service' });
  out.push({ name: `${server}-primary`, what: 'primary Service' });
  if (t.sentinel) set(`${t.name}-sentinel`, t.sentinel.replicas, 'sentinel');
  if (t.proxy) set(`${t.name}-proxy`, t.proxy.replicas, 'proxy');
  return out;
}

/** The longest generated name when it exceeds 63 characters. */
export function tooLongName(t: Topology): GeneratedName | undefined {
  const long = generatedNames(t).filter((n) => n.name.length > MAX_NAME);
  return long.sort((a, b) => b.name.length - a.name.length)[0];
}
