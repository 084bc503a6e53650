// Environment policy: rules a topology must meet to run in one environment, checked on the
// topology as that environment sees it (after overrides.<env>).
import type { Environment, EnvironmentPolicy } from '../../schemas/types/environment.js';
import type { Resources, Topology } from '../../schemas/types/topology.js';
import type { Path } from './paths.js';
import { bytes, cpuCores } from './quantity.js';
import type { Report } from './topology-rules.js';

/** "7.2" allows "7.2", "7.2.4" and "7.2.4-debian"; "7" allows every 7.x. */
export function versionAllowed(version: string, allowed: ReadonlyArray<string>): boolean {
  return allowed.some((a) => version === a || version.startsWith(`${a}.`) || version.startsWith(`${a}-`));
}

export function checkPolicy(t: Topology, env: Environment, report: Report): void {
  const p: EnvironmentPolicy | undefined = env.policy;
  if (!p) return;
  const envName = env.name;
  if (p.minReplicas !== undefined && t.replicas < p.minReplicas) {
    report('DBT4001', ['replicas'], `replicas is ${t.replicas}; environment ${envName} requires at least ${p.minReplicas}`);
  }
  if (p.maxReplicas !== undefined && t.replicas > p.maxReplicas) {
    report('DBT4002', ['replicas'], `replicas is ${t.replicas}; environment ${envName} allows at most ${p.maxReplicas}`);
  }
  if (p.minSentinels !== undefined && t.sentinel && t.sentinel.replicas < p.minSentinels) {
    report('DBT4003', ['sentinel', 'replicas'], `${t.sentinel.replicas} sentinels; environment ${envName} requires at least ${p.minSentinels}`);
  }
  if (p.maxShards !== undefined && t.shards !== undefined && t.shards > p.maxShards) {
    report('DBT4004', ['shards'], `${t.shards} shards; environment ${envName} allows at most ${p.maxShards}`);
  }
  if (p.requireZoneSpread && t.placement?.zoneSpread !== true) {
    report('DBT4005', ['placement', 'zoneSpread'], `environment ${envName} requires placement.zoneSpread: true`);
  }
  if (p.requireAntiAffinity && t.placement?.antiAffinity !== 'required') {
    report('DBT4006', ['placement', 'antiAffinity'], `environment ${envName} requires placement.antiAffinity: required (found ${t.placement?.antiAffinity ?? 'the default, preferred'})`);
  }
  const versions = p.allowedVersions?.[t.engine];
  if (versions && !versionAllowed(t.version, versions)) {
    report('DBT4007', ['version'], `${t.engine} ${t.version} is not allowed in environment ${envName}; allowed: ${versions.join(', ')}`);
  }
  if (p.maxResources) {
    const max = p.maxResources;
    const check = (r: Resources | undefined, path: Path, what: string) => {
      if (!r) return;
      if (max.cpu !== undefined && r.cpu !== undefined && (cpuCores(r.cpu) ?? 0) > (cpuCores(max.cpu) ?? Infinity)) {
        report('DBT4008', [...path, 'cpu'], `${what} cpu ${r.cpu} is above environment ${envName}'s maximum ${max.cpu}`);
      }
      if (max.memory !== undefined && r.memory !== undefined && (bytes(r.memory) ?? 0) > (bytes(max.memory) ?? Infinity)) {
        report('DBT4008', [...path, 'memory'], `${what} memory ${r.memory} is above environment ${envName}'s maximum ${max.memory}`);
      }
    };
    check(t.resources, ['resources'], 'server');
    check(t.sentinel?.resources, ['sentinel', 'resources'], 'sentinel');
    check(t.proxy?.resources, ['proxy', 'resources'], 'proxy');
    (t.instances ?? []).forEach((inst, i) => check(inst.resources, ['instances', i, 'resources'], `instance ${inst.name}`));
  }
}
