// The Kubernetes names a topology will produce (compiler/names.ts, shared with expand), so a name
// too long for the API server is caught here, at the line that causes it.
import type { Topology } from '../../schemas/types/topology.js';
import { names } from '../names.js';
import { MODES } from '../../schemas/modes.js';

/** Service names and pod hostnames are DNS labels: at most 63 characters. */
export const MAX_NAME = 63;

export interface GeneratedName {
  name: string;
  what: string;
}

/** The longest name of each kind; enough to decide whether all names fit. */
export function generatedNames(t: Topology): GeneratedName[] {
  const out: GeneratedName[] = [];
  const lastShard = MODES[t.mode].sharded ? Math.max(0, (t.shards ?? 1) - 1) : undefined;
  const set = (is: string, replicas: number, what: string) => {
    out.push({ name: names.pod(is, Math.max(0, replicas - 1)), what: `${what} pod` });
    out.push({ name: names.headless(is), what: `${what} headless Service` });
  };
  const server = names.serverSet(t.name, lastShard);
  set(server, t.replicas, 'server');
  out.push({ name: names.primary(server), what: 'primary Service' });
  out.push({ name: names.replicas(server), what: 'replicas Service' });
  if (t.sentinel) set(names.sentinelSet(t.name), t.sentinel.replicas, 'sentinel');
  if (t.proxy) {
    set(names.proxySet(t.name), t.proxy.replicas, 'proxy');
    out.push({ name: names.proxyService(t.name), what: 'proxy Service' });
  }
  return out;
}

/** The longest generated name when it exceeds 63 characters. */
export function tooLongName(t: Topology): GeneratedName | undefined {
  const long = generatedNames(t).filter((n) => n.name.length > MAX_NAME);
  return long.sort((a, b) => b.name.length - a.name.length)[0];
}
