// Pure parts of the engine drivers: INFO replication, SHOW SLAVE STATUS, GTID positions,
// +switch-master payloads, Sentinel settings diffs and the Sentinel cross-check.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gtidToOffset, parseReplicaStatus, toProbeResult } from '../../controller/engines/mysql/probe.js';
import { wiredTo } from '../../controller/engines/mysql/replication.js';
import { parseReplicationInfo } from '../../controller/engines/redis/probe.js';
import { alreadyFollows } from '../../controller/engines/redis/replication.js';
import { crossCheck, monitorSettingsDiff, pairs, parseSwitchMaster } from '../../controller/engines/redis/sentinel.js';
import type { EngineTarget, ProbeResult } from '../../controller/engines/types.js';

const master = `# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.10.1.3,port=6379,state=online,offset=420,lag=0\r\nmaster_replid:abc\r\nmaster_repl_offset:420\r\n`;
const slave = `# Replication\r\nrole:slave\r\nmaster_host:127.10.1.2\r\nmaster_port:6379\r\nmaster_link_status:down\r\nslave_repl_offset:400\r\nmaster_repl_offset:401\r\n`;

describe('redis INFO replication', () => {
  it('master → primary with offset and its connected replicas, each with the seconds since it last acknowledged', () => {
    expect(parseReplicationInfo(master)).toEqual({ reachable: true, role: 'primary', offset: 420, replicas: 1, replicaLinks: [{ host: '127.10.1.3', port: 6379, lagSeconds: 0 }] });
    expect(parseReplicationInfo(master.replace('lag=0', 'lag=7')).replicaLinks).toEqual([{ host: '127.10.1.3', port: 6379, lagSeconds: 7 }]);
  });
  it('slave → secondary following its master, link state and processed offset', () => {
    expect(parseReplicationInfo(slave)).toEqual({
      reachable: true,
      role: 'secondary',
      following: { host: '127.10.1.2', port: 6379, linkUp: false },
      offset: 400,
    });
    expect(parseReplicationInfo(slave.replace('down', 'up')).following?.linkUp).toBe(true);
  });
  it('anything else has no role and says why', () => {
    const p = parseReplicationInfo('role:sentinel\n');
    expect(p.role).toBeUndefined();
    expect(p.error).toMatch(/sentinel/);
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => typeof parseReplicationInfo(s).reachable === 'boolean'));
  });
  it('alreadyFollows compares host and port of the reported primary', () => {
    const t: EngineTarget = { podName: 'p', host: '127.10.1.2', port: 6379 };
    expect(alreadyFollows(parseReplicationInfo(slave), t)).toBe(true);
    expect(alreadyFollows(parseReplicationInfo(slave), { ...t, port: 6380 })).toBe(false);
    expect(alreadyFollows(parseReplicationInfo(master), t)).toBe(false);
  });
});

describe('mysql probe', () => {
  it('gtid lists sum their sequence numbers', () => {
    expect(gtidToOffset('')).toBe(0);
    expect(gtidToOffset('0-1-42')).toBe(42);
    expect(gtidToOffset('0-1-42,1-2-8')).toBe(50);
    expect(gtidToOffset('garbage')).toBeUndefined();
  });
  it('gtid offset grows when any domain grows', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1e6), { minLength: 1, maxLength: 4 }), fc.nat(3), fc.integer({ min: 1, max: 1000 }), (seqs, i, d) => {
        const list = (xs: number[]): string => xs.map((s, dom) => `${dom}-1-${s}`).join(',');
        const grown = seqs.map((s, k) => (k === i % seqs.length ? s + d : s));
        return (gtidToOffset(list(grown)) ?? 0) > (gtidToOffset(list(seqs)) ?? 0);
      }),
    );
  });
  const row = {
    Master_Host: '127.10.1.2',
    Master_Port: 3306,
    Slave_IO_Running: 'Yes',
    Slave_SQL_Running: 'Yes',
    Using_Gtid: 'Slave_Pos',
    Last_IO_Error: '',
    Last_SQL_Error: '',
  };
  it('primary ⇔ writable and replicating from nobody; secondary ⇔ replicating', () => {
    expect(toProbeResult(false, '0-1-5', parseReplicaStatus(undefined))).toEqual({ reachable: true, readOnly: false, offset: 5, role: 'primary' });
    // Read-only and replicating from nobody: a fresh or fenced server claims no role.
    expect(toProbeResult(true, '0-1-5', parseReplicaStatus(undefined))).toEqual({ reachable: true, readOnly: true, offset: 5 });
    // Writable but replicating: not a primary (a misconfiguration the reconciler fixes with read_only).
    expect(toProbeResult(false, '0-1-5', parseReplicaStatus(row)).role).toBe('secondary');
    expect(toProbeResult(true, '0-1-5', parseReplicaStatus(row))).toMatchObject({
      role: 'secondary',
      following: { host: '127.10.1.2', port: 3306, linkUp: true },
    });
  });
  it('a stopped or failing replica has its link down and its error reported', () => {
    const p = toProbeResult(true, '', parseReplicaStatus({ ...row, Slave_IO_Running: 'Connecting', Last_IO_Error: 'error connecting to master' }));
    expect(p.following?.linkUp).toBe(false);
    expect(p.error).toMatch(/connecting/);
    expect(parseReplicaStatus({ ...row, Slave_IO_Running: 'Connecting' }).ioStarted).toBe(true);
    expect(parseReplicaStatus({ ...row, Slave_IO_Running: 'No' }).ioStarted).toBe(false);
  });
  it('wiredTo requires the same primary and GTID slave_pos', () => {
    const t: EngineTarget = { podName: 'p', host: '127.10.1.2', port: 3306 };
    expect(wiredTo(parseReplicaStatus(row), t)).toBe(true);
    expect(wiredTo(parseReplicaStatus({ ...row, Using_Gtid: 'No' }), t)).toBe(false);
    expect(wiredTo(parseReplicaStatus({ ...row, Master_Port: 3307 }), t)).toBe(false);
    expect(wiredTo(parseReplicaStatus(undefined), t)).toBe(false);
  });
});

describe('sentinel helpers', () => {
  it('+switch-master payloads', () => {
    expect(parseSwitchMaster('shard0 127.10.1.2 6379 127.10.1.3 6379')).toEqual({
      masterName: 'shard0',
      from: { host: '127.10.1.2', port: 6379 },
      to: { host: '127.10.1.3', port: 6379 },
    });
    expect(parseSwitchMaster('shard0 127.10.1.2 6379')).toBeUndefined();
    expect(parseSwitchMaster('a b x c 1')).toBeUndefined();
  });
  it('settings diff lists only what differs', () => {
    const cur = pairs(['name', 'm', 'quorum', '2', 'down-after-milliseconds', '5000', 'failover-timeout', '60000', 'parallel-syncs', '1']);
    expect(monitorSettingsDiff(cur, 2, { downAfterMs: 5000, failoverTimeoutMs: 60000, parallelSyncs: 1 })).toEqual([]);
    expect(monitorSettingsDiff(cur, 3, { downAfterMs: 1000, failoverTimeoutMs: 60000 })).toEqual(['quorum', '3', 'down-after-milliseconds', '1000']);
  });
  const t = (n: number): EngineTarget => ({ podName: `r-${n}`, host: `127.10.1.${n}`, port: 6379 });
  const prim: ProbeResult = { reachable: true, role: 'primary' };
  const sec = (n: number): ProbeResult => ({ reachable: true, role: 'secondary', following: { host: `127.10.1.${n}`, port: 6379, linkUp: true } });
  it('crossCheck agrees when engines and sentinel name the same primary', () => {
    const c = crossCheck([{ target: t(1), probe: prim }, { target: t(2), probe: sec(1) }], { host: '127.10.1.1', port: 6379 });
    expect(c).toEqual({ agree: true, enginePrimaries: ['r-1'], sentinelPod: 'r-1', issues: [] });
  });
  it('crossCheck flags a sentinel primary that is a secondary in the engine, and stray followers', () => {
    const c = crossCheck([{ target: t(1), probe: prim }, { target: t(2), probe: sec(1) }], { host: '127.10.1.2', port: 6379 });
    expect(c.agree).toBe(false);
    expect(c.issues.join('\n')).toMatch(/r-2 reports role secondary/);
    expect(c.issues.join('\n')).toMatch(/r-2 follows 127.10.1.1:6379/);
    expect(crossCheck([{ target: t(1), probe: prim }], undefined).agree).toBe(false);
  });
});
