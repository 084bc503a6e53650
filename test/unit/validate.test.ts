import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../compiler/diagnostics.js';
import { parseSources, readRepo, type SourceFile } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';

const DEV = `name: dev
memberClusters:
  - name: dev-main
    destination: { server: https://kubernetes.default.svc }
    zones: [dev-a]
namespace: db-{team}
`;
const PROD = `name: prod
memberClusters:
  - name: prod-a
    destination: { server: https://a.example.com }
    zones: [z1, z2, z3]
  - name: prod-b
    destination: { name: prod-b }
    zones: [z4]
namespace: db-{team}
policy:
  minReplicas: 2
  maxReplicas: 5
  minSentinels: 3
  maxShards: 4
  requireZoneSpread: true
  allowedVersions: { redis: ["7.2"] }
  maxResources: { cpu: "4", memory: 8Gi }
`;
const GOOD = `name: sessions
team: web
engine: redis
mode: replication
version: 7.2.4
replicas: 2
sentinel: { replicas: 3, quorum: 2 }
overrides:
  prod:
    placement: { zoneSpread: true }
`;

function run(topologies: Record<string, string>, envs: Record<string, string> = { dev: DEV, prod: PROD }) {
  const files: SourceFile[] = [
    ...Object.entries(envs).map(([n, text]) => ({ path: `envs/${n}.yaml`, text })),
    ...Object.entries(topologies).map(([n, text]) => ({ path: `topologies/${n}.yaml`, text })),
  ];
  return validate(parseSources(files));
}
/** The account a MySQL topology needs (else DBT3102), for tests about something else. */
const MYSQL_ACCOUNT = 'credentials: { password: { name: t-auth, key: password } }\n';
const pick = (ds: Diagnostic[]) => ds.map((d) => ({ code: d.code, file: d.file, line: d.line, col: d.col }));
const one = (text: string) => run({ t: text });
const at = (code: string, line: number, col: number, file = 'topologies/t.yaml') => ({ code, file, line, col });

describe('validate: schema errors become located diagnostics', () => {
  it('a good topology has no diagnostics and is kept', () => {
    const r = one(GOOD);
    expect(r.diagnostics).toEqual([]);
    expect(r.topologies.map((t) => t.value.name)).toEqual(['sessions']);
    expect(r.environments.map((e) => e.value.name)).toEqual(['dev', 'prod']);
  });

  it('unknown field names the nearest allowed one', () => {
    const r = one(GOOD.replace('replicas: 2', 'replcas: 2') + 'sentinel2: 1\n');
    const unknown = r.diagnostics.filter((d) => d.code === 'DBT2001');
    expect(pick(unknown)).toEqual([at('DBT2001', 6, 1), at('DBT2001', 11, 1)]);
    expect(unknown[0]!.hint).toContain('did you mean "replicas"?');
    expect(unknown[1]!.hint).toContain('did you mean "sentinel"?');
    // the misspelt field also leaves a required one missing, reported at the root
    expect(pick(r.diagnostics)).toContainEqual(at('DBT2002', 1, 1));
    expect(r.topologies).toEqual([]);
  });

  it('unknown nested field lists the allowed fields', () => {
    const r = one(GOOD.replace('quorum: 2', 'quorum: 2, quoram: 2'));
    const d = r.diagnostics.find((x) => x.code === 'DBT2001')!;
    expect(pick([d])).toEqual([at('DBT2001', 7, 37)]);
    expect(d.message).toBe('unknown field "quoram" in sentinel');
    expect(d.hint).toBe('did you mean "quorum"? allowed: replicas, quorum, resources');
  });

  it('wrong types', () => {
    const r = one(GOOD.replace('replicas: 2', 'replicas: "two"').replace('team: web', 'team: [web]'));
    expect(pick(r.diagnostics)).toEqual([at('DBT2003', 2, 1), at('DBT2003', 6, 1)]);
    expect(r.diagnostics[1]!.message).toBe('replicas must be a whole number, found the string "two"');
  });

  it('enum values are listed; a mode of the other engine is its own code', () => {
    const r = one(GOOD.replace('mode: replication', 'mode: primary-replica').replace('engine: redis', 'engine: redis\nplacement: { antiAffinity: always }'));
    expect(pick(r.diagnostics)).toEqual([at('DBT2004', 4, 14), at('DBT2009', 5, 1)]);
    expect(r.diagnostics[1]!.hint).toContain('"standalone"');
    expect(r.diagnostics[0]!.message).toContain('"required", "preferred", "none"');
  });

  it('a literal password is rejected, wherever it is written', () => {
    const r = one(GOOD + 'credentials:\n  password: hunter2\npassword: hunter2\n');
    expect(pick(r.diagnostics)).toEqual([at('DBT2010', 12, 3), at('DBT2010', 13, 1)]);
    expect(r.diagnostics.map((d) => d.message).join()).not.toContain('hunter2');
  });

  it('names that are not DNS-1123 labels', () => {
    const r = one(GOOD.replace('name: sessions', 'name: Sessions_Cache'));
    expect(pick(r.diagnostics)).toEqual([at('DBT2005', 1, 1)]);
    expect(r.diagnostics[0]!.message).toContain('DNS-1035 label');
  });

  it('negative and absurd counts', () => {
    const r = one(GOOD.replace('replicas: 2', 'replicas: -1').replace('replicas: 3, quorum: 2', 'replicas: 500, quorum: 0'));
    expect(pick(r.diagnostics)).toEqual([at('DBT3001', 6, 1), at('DBT3001', 7, 13), at('DBT3021', 7, 28)]);
  });

  it('zero shards', () => {
    const r = one(GOOD.replace('mode: replication', 'mode: sharded\nshards: 0\nproxy: { replicas: 2 }'));
    expect(pick(r.diagnostics)).toEqual([at('DBT3010', 5, 1)]);
  });

  it('many errors in many files come back at once, sorted', () => {
    const r = run({
      a: GOOD.replace('replicas: 2', 'replicas: 0').replace('version: 7.2.4', 'version: latest'),
      b: GOOD.replace('name: sessions', 'name: other').replace('quorum: 2', 'quorum: 4'),
      c: 'name: c\nengine: cassandra\n',
    });
    expect(pick(r.diagnostics)).toEqual([
      at('DBT2005', 5, 1, 'topologies/a.yaml'),
      at('DBT3001', 6, 1, 'topologies/a.yaml'),
      at('DBT3020', 7, 26, 'topologies/b.yaml'),
      at('DBT2002', 1, 1, 'topologies/c.yaml'),
      at('DBT2002', 1, 1, 'topologies/c.yaml'),
      at('DBT2002', 1, 1, 'topologies/c.yaml'),
      at('DBT2004', 2, 1, 'topologies/c.yaml'),
    ]);
    expect(r.topologies).toEqual([]);
  });
});

describe('validate: semantic rules', () => {
  it('sentinel quorum above the sentinel count', () => {
    const r = one(GOOD.replace('quorum: 2', 'quorum: 5'));
    expect(pick(r.diagnostics)).toEqual([at('DBT3020', 7, 26)]);
    expect(r.diagnostics[0]!.hint).toContain('2 is a majority');
  });

  it('an override can break quorum in one environment only, and is blamed for it', () => {
    const r = one(GOOD.replace('placement: { zoneSpread: true }', 'placement: { zoneSpread: true }\n    sentinel: { replicas: 1 }'));
    // quorum (base line 7) > 1 sentinel in prod; minSentinels 3 also fails, at the override line.
    expect(pick(r.diagnostics)).toEqual([at('DBT3020', 7, 26), at('DBT4003', 11, 17)]);
    expect(r.diagnostics[0]!.message).toContain('(environment prod)');
  });

  it('shards on a mode that is not sharded, and sharded without shards', () => {
    expect(pick(one(GOOD + 'shards: 3\n').diagnostics)).toEqual([at('DBT3011', 11, 1)]);
    expect(pick(one(GOOD.replace('mode: replication', 'mode: sharded\nproxy: { replicas: 1 }')).diagnostics)).toEqual([at('DBT3012', 4, 1)]);
  });

  it('sentinel and proxy where the mode does not take them or needs them', () => {
    const standalone = GOOD.replace('mode: replication', 'mode: standalone').replace('replicas: 2', 'replicas: 1') + 'proxy: { replicas: 1 }\nenvironments: [dev]\n';
    expect(pick(one(standalone).diagnostics)).toEqual([at('DBT3022', 7, 1), at('DBT3082', 9, 3), at('DBT3030', 11, 1)]);
    const noSentinel = GOOD.replace('sentinel: { replicas: 3, quorum: 2 }\n', '');
    expect(pick(one(noSentinel).diagnostics)).toEqual([at('DBT3023', 4, 1)]);
    const mysqlTwem = `name: t\nteam: x\nengine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: 2\nproxy: { kind: twemproxy, replicas: 1 }\nenvironments: [dev]\n${MYSQL_ACCOUNT}`;
    expect(pick(one(mysqlTwem).diagnostics)).toEqual([at('DBT3032', 7, 10)]);
  });

  it('instance templates whose replicas exceed the topology replicas', () => {
    const r = one(GOOD + 'instances:\n  - { name: big, replicas: 2 }\n  - { name: big, replicas: 1 }\n');
    expect(pick(r.diagnostics)).toEqual([at('DBT3040', 11, 1), at('DBT3041', 13, 7)]);
  });

  it('exclusive CPU with a fractional CPU', () => {
    const r = one(GOOD + 'resources: { cpu: 1500m }\nplacement: { exclusiveCpu: true }\n');
    expect(pick(r.diagnostics)).toEqual([at('DBT3050', 11, 14)]);
  });

  it('a topology name that makes a pod or Service name longer than 63 characters', () => {
    const name = 'a'.repeat(50);
    const r = one(GOOD.replace('name: sessions', `name: ${name}`));
    expect(pick(r.diagnostics)).toEqual([at('DBT3060', 1, 1)]);
    expect(r.diagnostics[0]!.message).toContain(`"${name}-sentinel-headless"`);
    // sharded names count the last shard: 46 + "-shard-10-replicas" is 64, 46 + "-shard-9-replicas" is 63
    const sharded = `name: ${'s'.repeat(46)}\nteam: web\nengine: redis\nmode: sharded\nversion: "7.2"\nreplicas: 2\nshards: 11\nproxy: { replicas: 1 }\nenvironments: [dev]\n`;
    const long = one(sharded).diagnostics;
    expect(pick(long)).toEqual([at('DBT3060', 1, 1)]);
    expect(long[0]!.message).toMatch(/-shard-10-(headless|replicas)" is 64 characters, 1 over/);
    expect(one(sharded.replace('shards: 11', 'shards: 10')).diagnostics).toEqual([]);
  });

  it('duplicate topology names across files point at the second file', () => {
    const r = run({ a: GOOD, b: `# another team\n${GOOD}` });
    expect(pick(r.diagnostics)).toEqual([at('DBT3070', 2, 1, 'topologies/b.yaml')]);
    expect(r.diagnostics[0]!.message).toContain('topologies/a.yaml');
    expect(r.topologies.map((t) => t.file)).toEqual(['topologies/a.yaml']);
  });

  it('overrides and environments lists naming environments that do not exist', () => {
    const r = one(GOOD + 'environments: [dev, prod, qa]\n').diagnostics;
    expect(pick(r)).toEqual([at('DBT3081', 11, 27)]);
    const o = one(GOOD.replace('overrides:\n', 'overrides:\n  stagin:\n    replicas: 3\n')).diagnostics;
    expect(pick(o)).toEqual([at('DBT3080', 9, 3)]);
  });

  it('unknown member clusters and zones in placement', () => {
    const r = one(GOOD.replace('placement: { zoneSpread: true }', 'placement: { zoneSpread: true, memberClusters: [prod-a, prod-c] }\n    instances: [{ name: big, replicas: 1, zone: z4 }]'));
    expect(pick(r.diagnostics)).toEqual([at('DBT3090', 10, 61), at('DBT3091', 11, 43)]);
    expect(r.diagnostics[1]!.message).toContain('zones: z1, z2, z3');
  });

  it('a namespace rule with {team} needs a team', () => {
    const noTeam = one(GOOD.replace('team: web\n', '')).diagnostics;
    expect(pick(noTeam)).toEqual([at('DBT3123', 1, 1), at('DBT3123', 1, 1)]);
    expect(noTeam.map((d) => d.message.match(/environment (\w+)/)?.[1])).toEqual(['dev', 'prod']);
    expect(one(GOOD.replace('team: web\n', 'namespace: shared\n')).diagnostics).toEqual([]);
  });

  it('secrets in parameters', () => {
    expect(pick(one(GOOD + 'parameters:\n  requirepass: x\n  maxmemory: 1gb\n').diagnostics)).toEqual([at('DBT3110', 12, 3)]);
  });
});

describe('validate: environment policy, after overrides', () => {
  it('replica counts the environment forbids point at the base field when no override sets them', () => {
    const r = one(GOOD.replace('replicas: 2', 'replicas: 1'));
    expect(pick(r.diagnostics)).toEqual([at('DBT4001', 6, 1)]);
    expect(r.diagnostics[0]!.message).toBe('replicas is 1; environment prod requires at least 2');
    expect(r.topologies).toEqual([]);
  });

  it('and at the override when the override sets them', () => {
    const r = one(GOOD.replace('placement: { zoneSpread: true }', 'placement: { zoneSpread: true }\n    replicas: 9'));
    expect(pick(r.diagnostics)).toEqual([at('DBT4002', 11, 5)]);
  });

  it('an override can satisfy the policy', () => {
    const r = one(GOOD.replace('replicas: 2', 'replicas: 1').replace('placement: { zoneSpread: true }', 'placement: { zoneSpread: true }\n    replicas: 2'));
    expect(r.diagnostics).toEqual([]);
  });

  it('sentinels, shards, zone spread, versions and resources', () => {
    const t = `name: feed
team: web
engine: redis
mode: sharded
version: "7.0"
shards: 6
replicas: 2
resources: { cpu: "8", memory: 4Gi }
proxy: { replicas: 2, resources: { memory: 16Gi } }
sentinel: { replicas: 2, quorum: 2 }
`;
    const r = one(t);
    expect(pick(r.diagnostics)).toEqual([
      at('DBT4005', 1, 1),
      at('DBT4007', 5, 1),
      at('DBT4004', 6, 1),
      at('DBT4008', 8, 14),
      at('DBT4008', 9, 36),
      at('DBT4003', 10, 13),
    ]);
    expect(r.diagnostics.every((d) => d.message.includes('prod'))).toBe(true);
  });

  it('environment files: duplicate clusters, placeholders, contradictory policy, registries', () => {
    const env = `name: qa
memberClusters:
  - { name: a, destination: { name: a }, zones: [z] }
  - { name: a, destination: { name: b }, zones: [z] }
namespace: db-{owner}
defaults:
  images: { redis: "docker.io/library/redis:7.2" }
policy: { minReplicas: 3, maxReplicas: 2, allowedImageRegistries: [registry.example.com] }
`;
    const r = run({}, { qa: env, other: env.replace('name: qa', 'name: qb') });
    const qa = r.diagnostics.filter((d) => d.file === 'envs/qa.yaml');
    expect(pick(qa)).toEqual([
      at('DBT3120', 4, 7, 'envs/qa.yaml'),
      at('DBT3121', 5, 1, 'envs/qa.yaml'),
      at('DBT4009', 7, 13, 'envs/qa.yaml'),
      at('DBT3122', 8, 11, 'envs/qa.yaml'),
    ]);
    expect(r.diagnostics.filter((d) => d.file === 'envs/other.yaml').map((d) => d.code)).toContain('DBT3072');
    expect(r.environments).toEqual([]);
  });
});

describe('validate: the admission guard section', () => {
  it('a GitOps identity that never syncs, a guard that locks out the controller, groups everyone has: located errors', () => {
    const env = `name: qa
memberClusters:
  - { name: a, destination: { name: a }, zones: [z] }
namespace: db-{team}
argocd: { repoURL: https://git.example.com/db.git }
guard:
  gitops:
    serviceAccounts: [argocd/argocd-server, argocd/argocd-sync, dbtopo-system/dbtopo-controller]
    groups: [system:authenticated]
  controller: dbtopo-system/dbtopo-controller
  breakGlassGroup: system:serviceaccounts
`;
    const r = run({}, { qa: env });
    expect(pick(r.diagnostics)).toEqual([
      at('DBT3130', 8, 23, 'envs/qa.yaml'),
      at('DBT3130', 8, 45, 'envs/qa.yaml'),
      at('DBT3131', 8, 65, 'envs/qa.yaml'),
      at('DBT3132', 9, 14, 'envs/qa.yaml'),
      at('DBT3132', 11, 3, 'envs/qa.yaml'),
    ]);
    expect(r.diagnostics[0]!.message).toContain('never writes to a member cluster');
    expect(r.diagnostics[0]!.hint).toContain('argocd-application-controller');
    expect(r.environments).toEqual([]);
  });

  it('a federation manager identity that is also the controller or a GitOps identity: DBT3133', () => {
    const env = (guard: string) => `name: qa
memberClusters:
  - { name: a, destination: { name: a }, zones: [z] }
namespace: db-{team}
guard: ${guard}
`;
    const asController = run({}, { qa: env('{ federation: dbtopo-system/dbtopo-controller }') });
    expect(pick(asController.diagnostics)).toEqual([at('DBT3133', 5, 10, 'envs/qa.yaml')]);
    expect(asController.diagnostics[0]!.message).toContain('also the dbtopo controller');
    const asGitops = run({}, { qa: env('{ gitops: { serviceAccounts: [argocd/argocd-application-controller, ops/fed] }, federation: ops/fed }') });
    expect(pick(asGitops.diagnostics)).toEqual([at('DBT3133', 5, 88, 'envs/qa.yaml')]);
    expect(asGitops.diagnostics[0]!.message).toContain('also a GitOps identity');
    expect(pick(run({}, { qa: env('{ federation: ops/fed }') }).diagnostics)).toEqual([]);
  });

  it('a controller ServiceAccount the install manifests do not create is a lock-out', () => {
    const env = `name: qa
memberClusters:
  - { name: a, destination: { name: a }, zones: [z] }
namespace: db-{team}
guard: { controller: ops/db-operator }
`;
    const r = run({}, { qa: env });
    expect(pick(r.diagnostics)).toEqual([at('DBT3131', 5, 10, 'envs/qa.yaml')]);
    expect(r.diagnostics[0]!.message).toContain('would refuse its pod deletions');
  });

  it('the guard\'s own identities in the right places pass', () => {
    const env = `name: qa
memberClusters:
  - { name: a, destination: { name: a }, zones: [z] }
namespace: db-{team}
guard:
  gitops: { serviceAccounts: [argocd/argocd-application-controller, db-web/argocd-sync], groups: [platform-gitops] }
  controller: platform/dbtopo-controller
  breakGlassGroup: oncall-db
`;
    expect(run({}, { qa: env }).diagnostics).toEqual([]);
  });
});

describe('validate: the example repository', () => {
  it('validates with zero diagnostics', async () => {
    const files = await readRepo(new URL('../../environments', import.meta.url).pathname);
    const r = validate(parseSources(files));
    expect(r.diagnostics).toEqual([]);
    expect(r.environments.map((e) => e.value.name).sort()).toEqual(['dev', 'prod', 'staging']);
    expect(r.topologies.length).toBeGreaterThanOrEqual(6);
    const modes = new Set(r.topologies.map((t) => `${t.value.engine}/${t.value.mode}`));
    expect(modes).toEqual(new Set(['redis/standalone', 'redis/replication', 'redis/proxied-replication', 'redis/sharded', 'mysql/primary-replica']));
  });
});

describe('validate: generated namespaces and YAML number pitfalls', () => {
  it('a namespace rule that yields an over-long namespace points at the team', () => {
    const r = one(GOOD.replace('team: web', `team: ${'t'.repeat(61)}`));
    expect(pick(r.diagnostics)).toEqual([at('DBT3124', 2, 1), at('DBT3124', 2, 1)]);
    expect(r.diagnostics[0]!.message).toContain(`"db-${'t'.repeat(61)}" (64 characters)`);
  });

  it('an unquoted version read as a number gets a quoting hint', () => {
    const r = one(GOOD.replace('version: 7.2.4', 'version: 7.2'));
    expect(pick(r.diagnostics)).toEqual([at('DBT2003', 5, 1)]);
    expect(r.diagnostics[0]!.hint).toBe('quote the value: version: "7.2"');
  });
});

describe('validate: schema and semantic errors of one file in one run', () => {
  it('an unknown field does not hide an impossible quorum', () => {
    const r = one(GOOD.replace('quorum: 2', 'quorum: 5') + 'colour: blue\n');
    expect(pick(r.diagnostics)).toEqual([at('DBT3020', 7, 26), at('DBT2001', 11, 1)]);
  });

  it('a field cut for being invalid does not produce an absence error', () => {
    // sentinel has the wrong shape: no "sentinel missing" (DBT3023) on top of the type error
    const r = one(GOOD.replace('sentinel: { replicas: 3, quorum: 2 }', 'sentinel: 3'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DBT2003']);
  });

  it('a file missing a required field gets only schema diagnostics', () => {
    const r = one(GOOD.replace('quorum: 2', 'quorum: 5').replace('version: 7.2.4\n', ''));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DBT2002']);
  });
});

describe('validate: parameters cannot subvert the generated config', () => {
  it('rejects line breaks in values and parameters dbtopo manages', () => {
    const r = one(GOOD + 'parameters:\n  maxmemory: "1gb\\nreplicaof evil 6379"\n  replicaof: "evil 6379"\n  hz: 20\n');
    expect(pick(r.diagnostics)).toEqual([at('DBT2005', 12, 3), at('DBT3111', 13, 3)]);
    expect(r.diagnostics[0]!.message).toContain('single line');
  });

  it('managed names depend on the engine', () => {
    const mysql = `name: t\nteam: x\nengine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: 2\nenvironments: [dev]\nparameters:\n  server_id: 7\n  dir: /x\n${MYSQL_ACCOUNT}`;
    expect(pick(one(mysql).diagnostics)).toEqual([at('DBT3111', 9, 3)]);
  });
});

describe('validate: image registries the environment allows', () => {
  it('an unset image falls back to docker.io, which a registry policy forbids once a topology needs it', () => {
    const env = PROD.replace('policy:\n', 'defaults:\n  images: { redis: registry.example.com/db/redis }\npolicy:\n  allowedImageRegistries: [registry.example.com/db]\n');
    const proxied = GOOD.replace('mode: replication', 'mode: proxied-replication\nproxy: { replicas: 2 }');
    const r = run({ t: proxied }, { dev: DEV, prod: env });
    expect(pick(r.diagnostics)).toEqual([at('DBT4009', 11, 3, 'envs/prod.yaml')]);
    expect(r.diagnostics[0]!.message).toContain('defaults.images.twemproxy is not set, so sessions would pull nutcracker:0.5.0 from docker.io/library/nutcracker');
    expect(r.environments.map((e) => e.value.name)).toEqual(['dev']);
    // without a topology that needs twemproxy there, nothing to report
    expect(run({ t: GOOD }, { dev: DEV, prod: env }).diagnostics).toEqual([]);
  });
});

describe('validate: warnings that keep the file valid', () => {
  it('semi-sync without a replica, zone spread over one zone, and MySQL without credentials', () => {
    const t = 'name: t\nteam: x\nengine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: 1\nreplication: { mode: semi-sync }\nplacement: { zoneSpread: true }\nenvironments: [dev]\n';
    const r = one(t);
    expect(pick(r.diagnostics)).toEqual([at('DBT3102', 3, 1), at('DBT3101', 7, 16), at('DBT3092', 8, 14)]);
    expect(r.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
    expect(r.diagnostics[0]!.message).toMatch(/only local root accounts/);
    expect(r.topologies).toHaveLength(1);
    // with an account from a Secret, nothing to say about credentials
    const withAccount = one(t.replace('environments:', 'credentials:\n  username: { name: t-admin, key: username }\n  password: { name: t-admin, key: password }\nenvironments:'));
    expect(withAccount.diagnostics.map((d) => d.code)).not.toContain('DBT3102');
  });
});
