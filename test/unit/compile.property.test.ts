// Properties of the compiler over generated topologies (all modes, shards, replicas, names up to
// the limit, instance templates, multi-cluster placement): names are unique, every selector
// matches its pods, role Services select exactly their role, pod names are valid and global.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile.js';
import type { RenderedFile } from '../../compiler/pipeline/rendered-file.js';
import type { Located } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';
import { LABELS } from '../../schemas/types/index.js';
import type { Environment, InstanceSet, KubeObject, LabelSelector, Topology } from '../../schemas/types/index.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const ENV: Environment = {
  name: 'prod',
  namespace: 'db-{team}',
  memberClusters: [
    { name: 'west', destination: { name: 'west' }, zones: ['w-a', 'w-b'], weight: 2 },
    { name: 'central', destination: { name: 'central' }, zones: ['c-a', 'c-b'], weight: 1 },
    { name: 'north', destination: { name: 'north' }, zones: ['n-a'] },
  ],
};
const ZONES = ENV.memberClusters.flatMap((m) => m.zones);

const nameArb = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), fc.stringMatching(/^[a-z0-9-]{0,54}$/), fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'))
  .map(([a, mid, z]) => `${a}${mid}${z}`.replace(/--+/g, '-'));

const instancesArb = (replicas: number): fc.Arbitrary<Topology['instances']> =>
  fc
    .array(fc.record({ replicas: fc.integer({ min: 1, max: 2 }), zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }) }), { maxLength: 2 })
    .map((list) => {
      const out: NonNullable<Topology['instances']> = [];
      let left = replicas;
      list.forEach((x, i) => {
        if (x.replicas > left) return;
        left -= x.replicas;
        out.push({ name: `tpl${i}`, replicas: x.replicas, resources: { memory: '1Gi' }, ...(x.zone ? { zone: x.zone } : {}) });
      });
      return out.length > 0 ? out : undefined;
    });

const placementArb = fc.record({
  zoneSpread: fc.boolean(),
  antiAffinity: fc.constantFrom('required' as const, 'preferred' as const, 'none' as const),
  memberClusters: fc.option(fc.subarray(['west', 'central', 'north'], { minLength: 1 }), { nil: undefined }),
});

const topologyArb: fc.Arbitrary<Topology> = fc
  .record({
    name: nameArb,
    team: fc.constantFrom('web', 'pay', 'feed'),
    kind: fc.constantFrom('standalone', 'replication', 'proxied-replication', 'sharded', 'mysql'),
    replicas: fc.integer({ min: 1, max: 5 }),
    shards: fc.integer({ min: 1, max: 12 }),
    sentinels: fc.integer({ min: 1, max: 5 }),
    proxies: fc.integer({ min: 1, max: 3 }),
    withSentinel: fc.boolean(),
    withProxy: fc.boolean(),
    placement: placementArb,
    semiSync: fc.boolean(),
  })
  .chain((g) => instancesArb(g.kind === 'standalone' ? 1 : g.replicas).map((instances) => ({ ...g, instances })))
  .map((g): Topology => {
    const placement = {
      zoneSpread: g.placement.zoneSpread,
      antiAffinity: g.placement.antiAffinity,
      ...(g.placement.memberClusters ? { memberClusters: g.placement.memberClusters } : {}),
      // Spread over member clusters (several listed, or instances pinned to zones), fewer than three
      // is DBT5010 unless acknowledged (test/unit/federation-compile.test.ts).
      ...((g.placement.memberClusters?.length ?? 0) > 1 || (g.instances ?? []).some((i) => i.zone !== undefined) ? { memberClusterLoss: 'pause-writes' as const } : {}),
    };
    const sentinel = { replicas: g.sentinels, quorum: Math.floor(g.sentinels / 2) + 1 };
    const base = { name: g.name, team: g.team, placement, ...(g.instances ? { instances: g.instances } : {}) };
    switch (g.kind) {
      case 'standalone':
        return { ...base, engine: 'redis', mode: 'standalone', version: '7.2.4', replicas: 1 };
      case 'replication':
        return { ...base, engine: 'redis', mode: 'replication', version: '7.2.4', replicas: g.replicas, sentinel };
      case 'proxied-replication':
        return { ...base, engine: 'redis', mode: 'proxied-replication', version: '7.2.4', replicas: g.replicas, sentinel, proxy: { replicas: g.proxies } };
      case 'sharded':
        return {
          ...base,
          engine: 'redis',
          mode: 'sharded',
          version: '7.2.4',
          replicas: g.replicas,
          shards: g.shards,
          proxy: { replicas: g.proxies },
          ...(g.withSentinel ? { sentinel } : {}),
        };
      default:
        return {
          ...base,
          engine: 'mysql',
          mode: 'primary-replica',
          version: '10.11',
          replicas: g.replicas,
          // Spread over member clusters (several listed, or instances pinned to zones), asynchronous
          // replication is an error (DBT5008, test/unit/federation-compile.test.ts).
          replication: { mode: g.semiSync || (g.placement.memberClusters?.length ?? 0) > 1 || (g.instances ?? []).some((i) => i.zone !== undefined) ? 'semi-sync' : 'async' },
          ...(g.withProxy ? { proxy: { replicas: g.proxies } } : {}),
        };
    }
  });

const at = (): { line: number; col: number } => ({ line: 1, col: 1 });

function compileGenerated(topologies: Topology[]): { files: RenderedFile[]; accepted: number; errors: string[] } {
  const valid = validate({
    environments: [{ value: ENV, file: 'envs/prod.yaml', locate: at }],
    topologies: topologies.map((t, i): Located<unknown> => ({ value: t, file: `topologies/t${i}.yaml`, locate: at })),
    diagnostics: [],
  });
  const result = compileModel(valid, {});
  const errors = result.diagnostics.filter((d) => d.severity === 'error' && d.code.startsWith('DBT5')).map((d) => `${d.code} ${d.message}`);
  return { files: result.files, accepted: valid.topologies.length, errors };
}

function matches(selector: LabelSelector | Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const ml = selector && 'matchLabels' in selector ? (selector.matchLabels ?? {}) : ((selector ?? {}) as Record<string, string>);
  return Object.keys(ml).length > 0 && Object.entries(ml).every(([k, v]) => labels[k] === v);
}

/** Pods of an InstanceSet as the controller would label them (role: each role in turn). */
function podLabelSets(is: InstanceSet): Array<Record<string, string>> {
  const base = is.spec.template.metadata?.labels ?? {};
  const roles = is.spec.roles?.map((r) => r.name) ?? [];
  return roles.length === 0 ? [base] : roles.map((r) => ({ ...base, [LABELS.role]: r }));
}

function ordinalsOf(is: InstanceSet): number[] {
  const out: number[] = [];
  const add = (ranges: Array<{ start: number; end: number }> | undefined): void => {
    for (const r of ranges ?? []) for (let o = r.start; o <= r.end; o++) out.push(o);
  };
  add(is.spec.defaultTemplateOrdinals?.ranges);
  for (const tpl of is.spec.instances ?? []) add(tpl.ordinals?.ranges);
  return out;
}

function checkProperties(files: RenderedFile[]): void {
  const byScope = new Map<string, KubeObject[]>();
  const seen = new Set<string>();
  for (const f of files) {
    const [env, member] = f.path.split('/');
    const o = f.object;
    const key = `${env}/${member}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    expect(seen.has(key), `duplicate ${key}`).toBe(false);
    seen.add(key);
    expect(o.metadata.name.length).toBeLessThanOrEqual(o.kind === 'Service' ? 63 : 253);
    const scope = `${env}/${member}/${o.metadata.namespace ?? ''}`;
    byScope.set(scope, [...(byScope.get(scope) ?? []), o]);
  }
  const globalOrdinals = new Map<string, number[]>();
  for (const [scope, objects] of byScope) {
    const sets = objects.filter((o): o is KubeObject & InstanceSet => o.kind === 'InstanceSet');
    const pods = sets.flatMap(podLabelSets);
    for (const is of sets) {
      expect(matches(is.spec.selector, is.spec.template.metadata?.labels ?? {}), `${is.metadata.name} selector`).toBe(true);
      const ords = ordinalsOf(is);
      expect(ords.length).toBe(is.spec.replicas);
      for (const tpl of is.spec.instances ?? []) expect(ordinalsOf({ ...is, spec: { ...is.spec, defaultTemplateOrdinals: { ranges: [] }, instances: [tpl] } }).length).toBe(tpl.replicas);
      for (const o of ords) {
        const pod = `${is.metadata.name}-${o}`;
        expect(pod.length, pod).toBeLessThanOrEqual(63);
        expect(DNS1123_LABEL.test(pod), pod).toBe(true);
      }
      const key = `${scope.split('/')[0]}/${is.metadata.namespace}/${is.metadata.name}`;
      globalOrdinals.set(key, [...(globalOrdinals.get(key) ?? []), ...ords]);
    }
    for (const o of objects) {
      const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
      if (o.kind === 'Service') {
        const selector = spec.selector as Record<string, string>;
        expect(pods.some((p) => matches(selector, p)), `${scope} Service ${o.metadata.name} selects no pod`).toBe(true);
        const name = o.metadata.name;
        if (name.endsWith('-primary') || name.endsWith('-replicas')) {
          const role = name.endsWith('-primary') ? 'primary' : 'secondary';
          expect(selector[LABELS.role]).toBe(role);
          // Exactly its role: pods of the other role are never selected.
          expect(pods.filter((p) => matches(selector, p)).every((p) => p[LABELS.role] === role)).toBe(true);
        } else {
          expect(selector[LABELS.role]).toBeUndefined();
        }
      }
      if (o.kind === 'PodDisruptionBudget') {
        expect(pods.some((p) => matches(spec.selector as LabelSelector, p)), `PDB ${o.metadata.name}`).toBe(true);
      }
      if (o.kind === 'NetworkPolicy') {
        expect(pods.some((p) => matches(spec.podSelector as LabelSelector, p)), `NetworkPolicy ${o.metadata.name}`).toBe(true);
        const ingress = spec.ingress as Array<{ from?: Array<{ podSelector?: LabelSelector }> }>;
        for (const peer of ingress.flatMap((r) => r.from ?? [])) {
          if (peer.podSelector) expect(pods.some((p) => matches(peer.podSelector, p)), `NetworkPolicy ${o.metadata.name} peer`).toBe(true);
        }
      }
    }
  }
  // A shard's pods keep one name each across member clusters.
  for (const [key, ords] of globalOrdinals) expect(new Set(ords).size, key).toBe(ords.length);
}

describe('compile properties', () => {
  it('hold for generated topologies', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.uniqueArray(topologyArb, { minLength: 1, maxLength: 4, selector: (t) => t.name }), (topologies) => {
        const r = compileGenerated(topologies);
        accepted += r.accepted;
        expect(r.errors).toEqual([]);
        checkProperties(r.files);
      }),
      { numRuns: 150, seed: 20261121 },
    );
    // The generator must mostly produce topologies validation accepts, or the test proves little.
    expect(accepted).toBeGreaterThan(150);
  });

  it('split servers over member clusters with global ordinals', () => {
    const t: Topology = {
      name: 'split',
      team: 'web',
      engine: 'redis',
      mode: 'sharded',
      version: '7.2.4',
      shards: 2,
      replicas: 5,
      proxy: { replicas: 2 },
      instances: [{ name: 'big', replicas: 1, zone: 'c-a', resources: { memory: '8Gi' } }],
      placement: { memberClusters: ['west', 'central'], memberClusterLoss: 'pause-writes' },
    };
    const { files, errors } = compileGenerated([t]);
    expect(errors).toEqual([]);
    const sets = files.filter((f) => f.object.kind === 'InstanceSet' && f.object.metadata.name === 'split-shard-1');
    expect(sets.map((f) => f.path.split('/')[1]).sort()).toEqual(['central', 'west']);
    const ords = sets.map((f) => ordinalsOf(f.object as unknown as InstanceSet).sort());
    expect(ords.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    const central = sets.find((f) => f.path.split('/')[1] === 'central')?.object as unknown as InstanceSet;
    expect(central.spec.instances?.[0]?.nodeSelector?.['topology.kubernetes.io/zone']).toBe('c-a');
    expect(central.spec.instances?.[0]?.ordinals).toEqual({ ranges: [{ start: 4, end: 4 }] });
    checkProperties(files);
  });
});
