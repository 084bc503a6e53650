import { describe, expect, it } from 'vitest';
import { pendingRestores } from '../../controller/engines/redis/priority-journal.js';
import { ANNOTATIONS, type KubeObject } from '../../schemas/types/index.js';

const pod = (name: string, note?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', ...(note !== undefined ? { annotations: { [ANNOTATIONS.restoreReplicaPriority]: note } } : {}) },
});

describe('pendingRestores', () => {
  it('lists the pods whose replica-priority an interrupted switchover left to restore, ignoring malformed notes', () => {
    expect(pendingRestores([pod('a-0'), pod('a-1', '100'), pod('a-2', '7'), pod('a-3', 'x1'), pod('a-4', '')])).toEqual([
      { podName: 'a-1', value: '100' },
      { podName: 'a-2', value: '7' },
    ]);
  });
});
