// Pod addresses on the loopback network (all of 127.0.0.0/8 routes to `lo` on Linux, so every
// pod can have its own address and the same container port) and a bounded port-open check.
import * as net from 'node:net';
import { claimNumber, releaseNumber } from './claims.js';

/**
 * Hands out 127.<b>.<c>.<d> addresses. <b> is claimed machine-wide (claims.ts) for this pool, so
 * parallel test runs on one machine, and two pools in one process, never hand out the same
 * address; released addresses are not reused within a run. 127.0.x, 127.1.x (fixed test
 * addresses), 127.250+ (addresses tests expect to be unreachable) are never handed out.
 */
export class AddressPool {
  private next = 2;
  readonly b: number;

  constructor(seed = process.pid) {
    this.b = claimNumber('loopback', 10, 249, seed);
  }

  /** Gives the block back (its addresses must no longer be in use). */
  release(): void {
    releaseNumber('loopback', this.b);
  }

  allocate(): string {
    const n = this.next++;
    if (n >= 254 * 254) throw new Error('AddressPool exhausted: start a new test kubelet');
    return `127.${this.b}.${1 + Math.floor(n / 254)}.${1 + (n % 254)}`;
  }
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Polls until host:port accepts connections; throws after `timeoutMs`. */
export async function waitForPort(host: string, port: number, timeoutMs = 20_000, what = 'engine'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await portOpen(host, port, 300)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} at ${host}:${port} did not open its port within ${timeoutMs} ms; see its engine.log`);
}
