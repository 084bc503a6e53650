// Lease-based leader election (coordination.k8s.io/v1), after client-go's leaderelection:
// acquire when the Lease is free or expired, renew every retryPeriod, give up leadership when
// renewals keep failing for renewDeadline, and release the Lease on graceful shutdown so a standby
// takes over at once. Optimistic concurrency (resourceVersion on PUT) makes two candidates safe.
import type { Logger } from 'pino';
import type { KubeObject } from '../../schemas/types/index.js';
import { isConflict, isNotFound, resourcePath, type KubeClient } from './kube.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

/** Whether `lease` may be taken by `identity` at `nowMs` (free, expired, or already ours). Pure. */
export function canAcquire(lease: LeaseSpec | undefined, identity: string, nowMs: number): boolean {
  if (lease === undefined || lease.holderIdentity === undefined || lease.holderIdentity === '') return true;
  if (lease.holderIdentity === identity) return true;
  const renewed = lease.renewTime !== undefined ? Date.parse(lease.renewTime) : NaN;
  if (Number.isNaN(renewed)) return true;
  return renewed + (lease.leaseDurationSeconds ?? 15) * 1000 < nowMs;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private path(name?: string): string {
    return resourcePath('Lease', this.opts.namespace, name);
  }

  /** One acquire-or-renew attempt; true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    const { name, identity } = this.opts;
    const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000), renewTime: microTime(now) };
    const current = await this.client.get<Lease>(this.path(name));
    if (current === undefined) {
      try {
        await this.client.create(this.path(), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: this.opts.namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        if (isConflict(err)) return false; // someone else created it first
        throw err;
      }
    }
    if (!canAcquire(current.spec, identity, now)) return false;
    const ours = current.spec?.holderIdentity === identity;
    const next: Lease = {
      ...current,
      spec: {
        ...current.spec,
        ...spec,
        acquireTime: ours ? (current.spec?.acquireTime ?? microTime(now)) : microTime(now),
        leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    try {
      await this.client.replace(this.path(name), next, 'dbtopo-controller');
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  /** Runs the election loop until stop(); calls back on gaining and losing leadership. */
  start(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease request failed');
      }
      if (this.stopped) return;
      const now = Date.now();
      if (held) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}` }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
        // Could not renew in time: another candidate may take over, so stop acting now.
        this.leading = false;
        this.log.error({ lease: `${this.opts.namespace}/${this.opts.name}` }, 'lost leadership (renew deadline passed)');
        this.callbacks.onStoppedLeading();
      }
      this.timer = setTimeout(() => void tick(), this.opts.retryPeriodMs);
    };
    void tick();
  }

  /** Stops the loop and, when leading, releases the Lease so a standby need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const current = await this.client.get<Lease>(this.path(this.opts.name));
      if (current?.spec?.holderIdentity === this.opts.identity) {
        await this.client.replace(this.path(this.opts.name), { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } }, 'dbtopo-controller');
        this.log.info('released leader lease');
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the lease; it expires by itself');
    }
  }
}
