// Where the controller reaches a set's engines: each pod that has an address and is not
// terminating, with the credentials the set's Secret references.
import type { InstanceSet, KubeObject } from '../../../schemas/types/index.js';
import type { CredentialsReader } from '../../engines/credentials.js';
import type { EngineTarget } from '../../engines/types.js';
import { isTerminating, podStatus } from './pods.js';

export async function engineTargets(creds: CredentialsReader, is: InstanceSet, pods: KubeObject[]): Promise<Map<string, EngineTarget>> {
  const ns = is.metadata.namespace ?? 'default';
  const out = new Map<string, EngineTarget>();
  for (const p of pods) {
    const ip = podStatus(p).podIP;
    if (ip === undefined || isTerminating(p)) continue;
    out.set(p.metadata.name, await creds.target(ns, is.spec.engine, { podName: p.metadata.name, host: ip, port: is.spec.engine.port }));
  }
  return out;
}
