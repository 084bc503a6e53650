// Pure parts of the test kubelet: engine choice, config file, placeholder filling, cluster DNS
// names, config rewrites, and the pod status it writes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile.js';
import { SERVER_ID_FILE } from '../../compiler/expand/podtemplate.js';
import { parseSources, readRepo } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { localDir, rebindListen } from '../kubelet/engines.js';
import {
  configFileOf,
  dnsNamesIn,
  engineKindOf,
  fillPlaceholders,
  keptServerId,
  ordinalOf,
  rendersFromUid,
  resolveDnsNames,
  serverIdFromUid,
} from '../kubelet/render.js';
import { podStatus } from '../kubelet/status.js';

describe('engine and config of a container', () => {
  it('chooses the engine from the command, then the image', () => {
    expect(engineKindOf({ name: 'c', command: ['redis-server', '/config/redis.conf'] })).toBe('redis');
    expect(engineKindOf({ name: 'c', command: ['redis-sentinel', '/config/sentinel.conf'] })).toBe('sentinel');
    expect(engineKindOf({ name: 'c', command: ['redis-server', '/config/s.conf', '--sentinel'] })).toBe('sentinel');
    expect(engineKindOf({ name: 'c', command: ['/usr/sbin/mariadbd', '--defaults-file=/config/my.cnf'] })).toBe('mariadb');
    expect(engineKindOf({ name: 'c', command: ['mysqld'] })).toBe('mariadb');
    expect(engineKindOf({ name: 'c', command: ['nutcracker', '-c', '/config/nutcracker.yml'] })).toBe('twemproxy');
    expect(engineKindOf({ name: 'c', command: ['haproxy', '-W', '-db', '-f', '/config/haproxy.cfg'] })).toBe('haproxy');
    expect(engineKindOf({ name: 'c', image: 'redis:7.2' })).toBe('redis');
    expect(engineKindOf({ name: 'c', image: 'registry.k8s.io/pause:3.10' })).toBeUndefined();
  });
  it('finds the config file the command line names', () => {
    expect(configFileOf({ name: 'c', command: ['redis-server', '/config/redis.conf'] })).toBe('redis.conf');
    expect(configFileOf({ name: 'c', command: ['mariadbd', '--defaults-file=/config/my.cnf'] })).toBe('my.cnf');
    expect(configFileOf({ name: 'c', command: ['nutcracker', '-c', '/config/nutcracker.yml'] })).toBe('nutcracker.yml');
    expect(configFileOf({ name: 'c', command: ['haproxy', '-f', '/config/haproxy.cfg'] })).toBe('haproxy.cfg');
    expect(configFileOf({ name: 'c', command: ['sleep', '1'] })).toBeUndefined();
  });
});

describe('render-config stand-in', () => {
  it('fills the placeholders like the init container (SERVER_ID = ordinal + 1 without a UID)', () => {
    const out = fillPlaceholders('ip ${POD_IP} name ${POD_NAME} id ${SERVER_ID} pw ${PASSWORD} ip ${POD_IP}', {
      podIP: '10.244.1.2',
      podName: 'db-server-4',
      password: 's3cret',
    });
    expect(out).toBe('ip 10.244.1.2 name db-server-4 id 5 pw s3cret ip 10.244.1.2');
    expect(fillPlaceholders('pw ${PASSWORD}.', { podIP: 'x', podName: 'p-0' })).toBe('pw .');
    // As render-config's `${USERNAME:-root}`: the account of credentials without a username Secret is root.
    expect(fillPlaceholders("'${USERNAME}'@'%'", { podIP: 'x', podName: 'p-0' })).toBe("'root'@'%'");
    expect(fillPlaceholders("'${USERNAME}'@'%'", { podIP: 'x', podName: 'p-0', username: 'admin' })).toBe("'admin'@'%'");
    expect(ordinalOf('feed-shards-shard-2-10')).toBe(10);
  });
  it('fills ${SERVER_ID} from the pod UID when render-config has POD_UID', () => {
    const uid = '9c1f3e2a-0b7d-4e55-9a61-2f0c3d4e5f60';
    expect(fillPlaceholders('server-id = ${SERVER_ID}', { podIP: 'x', podName: 'db-server-0', podUid: uid })).toBe(
      `server-id = ${0x9c1f3e2a + 1}`,
    );
    // Two incarnations of one ordinal (an ordinal move, or a pod recreated on its claim): two ids.
    const other = fillPlaceholders('${SERVER_ID}', { podIP: 'x', podName: 'db-server-0', podUid: '0d2e4f60-1111-4222-8333-444455556666' });
    expect(other).toBe(String(0x0d2e4f60 + 1));
    expect(serverIdFromUid('ffffffff-0000-4000-8000-000000000000')).toBe(1); // 2^32 - 1 ≡ 0: never 0, never above MariaDB's 2^32 - 1
    expect(serverIdFromUid('fffffffe-0000-4000-8000-000000000000')).toBe(4294967295);
    expect(serverIdFromUid('00000000-0000-4000-8000-000000000000')).toBe(1);
    expect(() => serverIdFromUid('')).toThrow(/no hex first group/);
  });
  it('makes and keeps the server id as the rendered MySQL render-config does, in dash and busybox sh', async () => {
    const env = path.join(import.meta.dirname, '..', '..', 'environments');
    const result = compileModel(validate(parseSources(await readRepo(env))), { env: 'dev' });
    type Init = { name: string; command: string[]; env?: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }> };
    type Tpl = { spec: { initContainers: Init[]; containers: Init[] } };
    const templateOf = (name: string): Tpl => {
      const o = result.files.map((f) => f.object as KubeObject & { spec?: { template?: Tpl } }).find((x) => x.kind === 'InstanceSet' && x.metadata.name === name);
      if (!o?.spec?.template) throw new Error(`no InstanceSet ${name} in the dev compile`);
      return o.spec.template;
    };
    const mysql = templateOf('billing-db-server');
    expect(rendersFromUid(mysql)).toBe(true);
    // POD_UID only where the id is made: the other containers' env stays as it was.
    for (const c of [...mysql.spec.initContainers.slice(1), ...mysql.spec.containers]) expect((c.env ?? []).map((e) => e.name)).not.toContain('POD_UID');
    const render = mysql.spec.initContainers.find((c) => c.name === 'render-config');
    const script = render?.command[2] ?? '';
    // The script up to its loop over the templates, then the id it computed; the data volume (where
    // the id is kept) is a directory of the test's.
    const dataMount = (render as unknown as { volumeMounts: Array<{ name: string; mountPath: string }> }).volumeMounts.find((m) => m.name === 'data')?.mountPath ?? '';
    expect(dataMount).toBe('/var/lib/mysql');
    const lines = script.split('\n');
    const head = lines.slice(0, lines.findIndex((l) => l.startsWith('for '))).join('\n');
    expect(head).toContain('POD_UID');
    const shells = [['dash'], ['busybox', 'sh']].filter(([bin]) => fs.existsSync(`/bin/${bin}`) || fs.existsSync(`/usr/bin/${bin}`));
    expect(shells.length).toBeGreaterThan(0);
    const uids = [
      '9c1f3e2a-0b7d-4e55-9a61-2f0c3d4e5f60',
      'ffffffff-0b7d-4e55-9a61-2f0c3d4e5f60',
      'fffffffe-0b7d-4e55-9a61-2f0c3d4e5f60',
      '00000000-0b7d-4e55-9a61-2f0c3d4e5f60',
      '7FFFFFFF-0B7D-4E55-9A61-2F0C3D4E5F60',
      '80000000-0b7d-4e55-9a61-2f0c3d4e5f60',
    ];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-server-id-'));
    try {
      for (const [bin, ...pre] of shells) {
        const run = (dir: string, uid?: string) =>
          spawnSync(bin!, [...pre, '-c', `${head.replaceAll(dataMount, dir)}\necho "$SERVER_ID"`], {
            env: { PATH: '/usr/bin:/bin', ...(uid !== undefined ? { POD_UID: uid } : {}) },
            encoding: 'utf8',
          });
        for (const uid of uids) {
          // A new volume: the id made from the UID, as serverIdFromUid; kept for the next pod on it.
          const dir = fs.mkdtempSync(path.join(tmp, 'v-'));
          const r = run(dir, uid);
          expect({ bin, uid, out: r.stdout.trim(), status: r.status }).toEqual({ bin, uid, out: String(serverIdFromUid(uid)), status: 0 });
          expect(keptServerId(dir, '0d2e4f60-1111-4222-8333-444455556666'), 'the test kubelet reads the kept id').toBe(serverIdFromUid(uid));
          const again = run(dir, '0d2e4f60-1111-4222-8333-444455556666');
          expect(again.stdout.trim(), 'a pod recreated on the volume keeps its id').toBe(String(serverIdFromUid(uid)));
        }
        // No UID on a new volume, or a kept id that is no number: the init container fails.
        const none = run(fs.mkdtempSync(path.join(tmp, 'v-')));
        expect(none.status, `${bin}: ${none.stdout}${none.stderr}`).not.toBe(0);
        const badDir = fs.mkdtempSync(path.join(tmp, 'v-'));
        fs.writeFileSync(path.join(badDir, SERVER_ID_FILE), 'x1\n');
        expect(run(badDir, uids[0]).status).not.toBe(0);
      }
      // The test kubelet on a new volume: from the UID, kept.
      const k = fs.mkdtempSync(path.join(tmp, 'k-'));
      expect(keptServerId(k, uids[0]!)).toBe(serverIdFromUid(uids[0]!));
      expect(keptServerId(k, uids[3]!)).toBe(serverIdFromUid(uids[0]!));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // Redis servers keep the ordinal: no POD_UID, SERVER_ID = ordinal + 1 as before.
    const redisSet = result.files
      .map((f) => f.object as KubeObject & { spec?: { template?: Tpl } })
      .find((x) => x.kind === 'InstanceSet' && x.spec?.template?.spec.containers[0]?.command?.[0]?.includes('redis-server') === true);
    expect(redisSet?.spec?.template && rendersFromUid(redisSet.spec.template)).toBe(false);
    expect(redisSet?.spec?.template?.spec.initContainers[0]?.command[2]).toContain('SERVER_ID=$((ordinal + 1))');
  });
  it('finds pod and Service DNS names', () => {
    const text = 'sentinel monitor m db-0.db-headless.ns1.svc 6379 2\n- db-primary.ns1.svc.cluster.local:6379:1 s0\nnot.a.name';
    expect(dnsNamesIn(text)).toEqual([
      { match: 'db-0.db-headless.ns1.svc', name: { kind: 'pod', pod: 'db-0', service: 'db-headless', namespace: 'ns1' } },
      { match: 'db-primary.ns1.svc.cluster.local', name: { kind: 'service', service: 'db-primary', namespace: 'ns1' } },
    ]);
  });
  it('replaces names it can resolve and reports the others', async () => {
    const r = await resolveDnsNames('a db-0.h.ns.svc b db-primary.ns.svc', async (n) => (n.kind === 'pod' ? '10.244.0.9' : undefined));
    expect(r).toEqual({ text: 'a 10.244.0.9 b db-primary.ns.svc', unresolved: ['db-primary.ns.svc'] });
  });
  it('rewrites Redis dir lines and nutcracker listen lines', () => {
    expect(localDir('port 6379\ndir /data\n  dir /config\n', '/tmp/p')).toBe('port 6379\ndir /tmp/p\n  dir /tmp/p\n');
    expect(rebindListen('x:\n  listen: 0.0.0.0:6379\n  hash: fnv1a_64\n', '10.244.0.3', 6379)).toBe('x:\n  listen: 10.244.0.3:6379\n  hash: fnv1a_64\n');
  });
});

describe('pod status', () => {
  const base = {
    phase: 'Running' as const,
    podIP: '10.244.0.2',
    hostIP: '127.0.0.1',
    startTime: new Date('2026-01-01T00:00:00Z'),
    initialized: true,
    containerName: 'redis',
    image: 'redis:7.2',
    initContainerName: 'render-config',
    running: true,
    ready: true,
    restartCount: 0,
    pid: 4242,
  };
  it('a running, answering container is Ready with its address', () => {
    const s = podStatus(base, new Map());
    expect(s.podIP).toBe('10.244.0.2');
    expect(s.podIPs).toEqual([{ ip: '10.244.0.2' }]);
    expect(Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]))).toEqual({
      PodScheduled: 'True',
      Initialized: 'True',
      ContainersReady: 'True',
      Ready: 'True',
    });
    expect(s.containerStatuses?.[0]).toMatchObject({ ready: true, started: true, restartCount: 0, containerID: 'dbtopo-test://4242' });
    expect(s.initContainerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
  });
  it('a crashed container waits in CrashLoopBackOff with its last termination', () => {
    const s = podStatus({ ...base, running: false, ready: false, restartCount: 2, lastExit: { code: null, signal: 'SIGKILL', at: new Date() } }, new Map());
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(s.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(s.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, signal: 9 });
    expect(s.containerStatuses?.[0]?.restartCount).toBe(2);
  });
  it('keeps lastTransitionTime while a condition does not change', () => {
    const t = new Map<string, { ok: boolean; at: Date }>();
    const first = podStatus(base, t).conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    const again = podStatus(base, t).conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    expect(again).toBe(first);
  });
  it('a pod waiting for DNS names is Pending, not Initialized, and says why', () => {
    const s = podStatus({ ...base, phase: 'Pending', podIP: undefined, initialized: false, initMessage: 'waiting for DNS names: x.ns.svc', running: false, ready: false }, new Map());
    expect(s.phase).toBe('Pending');
    expect(s.podIP).toBeUndefined();
    expect(s.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', message: 'waiting for DNS names: x.ns.svc' });
  });
});
