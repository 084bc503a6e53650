// Pure parts of the test kubelet: engine choice, config file, placeholder filling, cluster DNS
// names, config rewrites, and the pod status it writes.
import { describe, expect, it } from 'vitest';
import { localDir, rebindListen } from '../kubelet/engines.js';
import { configFileOf, dnsNamesIn, engineKindOf, fillPlaceholders, ordinalOf, resolveDnsNames } from '../kubelet/render.js';
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
  it('fills the placeholders like the init container (SERVER_ID = ordinal + 1)', () => {
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
