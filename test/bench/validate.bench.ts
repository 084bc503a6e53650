// Front of the compiler: load (YAML with positions) and validate (schema, semantic rules, policy)
// on a generated repository of 1,000 topologies × 3 environments, plus the cost of rejecting a
// billion-laughs file and of the largest file accepted. Figures only; no assertions on time.

import { parseSources, type SourceFile } from '../../compiler/load/index.js';
import { MAX_FILE_BYTES } from '../../compiler/load/yaml-file.js';
import { validate } from '../../compiler/validate/index.js';

const TOPOLOGIES = Number(process.env.DBTOPO_BENCH_TOPOLOGIES ?? 1000);
const ROUNDS = 5;

function env(name: string, policy: string): SourceFile {
  const text = `name: ${name}
memberClusters:
  - { name: ${name}-a, destination: { name: ${name}-a }, zones: [z1, z2, z3], weight: 2 }
  - { name: ${name}-b, destination: { name: ${name}-b }, zones: [z4, z5, z6] }
namespace: db-{team}
policy: ${policy}
`;
  return { path: `envs/${name}.yaml`, text };
}

function topology(i: number): SourceFile {
  const name = `db-${String(i).padStart(4, '0')}`;
  const shapes = [
    `engine: redis\nmode: replication\nversion: 7.2.4\nreplicas: 3\nsentinel: { replicas: 3, quorum: 2 }\n`,
    `engine: redis\nmode: sharded\nversion: 7.2.4\nshards: 3\nreplicas: 2\nproxy: { replicas: 2 }\nparameters: { maxmemory-policy: allkeys-lru }\n`,
    `engine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: 3\nreplication: { mode: semi-sync }\ninstances: [{ name: big, replicas: 1, resources: { memory: 8Gi } }]\ncredentials: { password: { name: db-admin, key: password } }\n`,
    `engine: redis\nmode: proxied-replication\nversion: 7.2.4\nreplicas: 2\nproxy: { replicas: 2 }\n`,
  ];
  const text = `name: ${name}\nteam: team-${i % 10}\n${shapes[i % 4]}placement: { zoneSpread: true, antiAffinity: required }\noverrides:\n  prod:\n    replicas: 3\n    resources: { cpu: "2", memory: 8Gi }\n`;
  return { path: `topologies/${name}.yaml`, text };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function bench(): Promise<void> {
  const sources = [
    env('dev', '{ maxReplicas: 5 }'),
    env('staging', '{ minReplicas: 2 }'),
    env('prod', '{ minReplicas: 2, minSentinels: 3, maxShards: 8, requireZoneSpread: true, requireAntiAffinity: true, allowedVersions: { redis: ["7.2"], mysql: ["10.11"] } }'),
    ...Array.from({ length: TOPOLOGIES }, (_, i) => topology(i)),
  ];
  const bytes = sources.reduce((n, s) => n + s.text.length, 0);

  const loadMs: number[] = [];
  const validateMs: number[] = [];
  let diagnostics = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const loaded = parseSources(sources);
    const t1 = performance.now();
    const valid = validate(loaded);
    const t2 = performance.now();
    loadMs.push(t1 - t0);
    validateMs.push(t2 - t1);
    diagnostics = valid.diagnostics.length;
  }
  const load = median(loadMs);
  const check = median(validateMs);
  console.log(`repo: ${TOPOLOGIES} topologies × 3 environments, ${(bytes / 1024).toFixed(0)} KiB of YAML, ${diagnostics} diagnostics`);
  console.log(`load (YAML + positions):          ${load.toFixed(0)} ms median of ${ROUNDS} (${((load / TOPOLOGIES) * 1000).toFixed(0)} µs per topology)`);
  console.log(`validate (schema+rules+policy):   ${check.toFixed(0)} ms median of ${ROUNDS} (${((check / TOPOLOGIES) * 1000).toFixed(0)} µs per topology)`);
  console.log(`first round (ajv compile incl.):  ${(loadMs[0]! + validateMs[0]!).toFixed(0)} ms`);

  const bomb = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 10; i++) {
    const [prev, cur] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
    bomb.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  const b0 = performance.now();
  parseSources([{ path: 'topologies/bomb.yaml', text: bomb.join('\n') }]);
  console.log(`billion laughs (9^10 expansion) rejected in ${(performance.now() - b0).toFixed(1)} ms`);

  const line = '  k%d: value\n';
  let big = 'name: big\nparameters:\n';
  for (let i = 0; big.length < MAX_FILE_BYTES - 32; i++) big += line.replace('%d', String(i));
  const f0 = performance.now();
  parseSources([{ path: 'topologies/big.yaml', text: big }]);
  console.log(`largest accepted file (${(big.length / 1024).toFixed(0)} KiB) loaded in ${(performance.now() - f0).toFixed(0)} ms`);
}
