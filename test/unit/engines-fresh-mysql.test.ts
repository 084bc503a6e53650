// A fresh MySQL server (read-only, replicating from nobody: the probe reports no role) joining a
// labelled set is wired to the primary, like a fresh Redis that reports primary.
import { describe, expect, it } from 'vitest';
import { toProbeResult, parseReplicaStatus } from '../../controller/engines/mysql/probe.js';
import { decideRoles, type MemberView } from '../../controller/roles/role-plan.js';

describe('fresh MySQL replica', () => {
  it('is told to follow the primary, and gets no label before it does', () => {
    const fresh = toProbeResult(true, '', parseReplicaStatus(undefined));
    expect(fresh.role).toBeUndefined();
    const members: MemberView[] = [
      { podName: 'db-0', ordinal: 0, host: '10.0.0.1', port: 3306, label: 'primary', probe: toProbeResult(false, '0-1-9', parseReplicaStatus(undefined)) },
      {
        podName: 'db-1',
        ordinal: 1,
        host: '10.0.0.2',
        port: 3306,
        label: 'secondary',
        probe: toProbeResult(true, '0-1-9', parseReplicaStatus({ Master_Host: '10.0.0.1', Master_Port: 3306, Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Using_Gtid: 'Slave_Pos' })),
      },
      { podName: 'db-2', ordinal: 2, host: '10.0.0.3', port: 3306, probe: fresh },
    ];
    const d = decideRoles(members, { sentinelManaged: false });
    expect(d.primary).toBe('db-0');
    expect(d.follow).toEqual([{ replica: 'db-2', primary: 'db-0' }]);
    expect(d.labels.find((l) => l.podName === 'db-2')).toBeUndefined();
  });
});
