// The test kubelet's stand-in for CNI. Pod addresses must not be loopback: the API server
// accepts 127.x in pod status, but EndpointSlice validation refuses loopback addresses, so
// Services would have no endpoints. Each pod instead gets a /32 from 10.244.<b>.0/24 added as an
// alias to `lo` (`ip addr add … dev lo`): the address is local to this machine only, needs no
// bridge, veth or routing, and the engines bind to it like to a pod IP. <b> is chosen per process
// so parallel kubelets on one machine do not collide. Without CAP_NET_ADMIN it falls back to
// 127.x addresses (engines work, EndpointSlices stay empty) and says so.
import { execFileSync } from 'node:child_process';

export class PodNetwork {
  private readonly byPod = new Map<string, string>();
  private readonly added = new Set<string>();
  private next = 2;
  readonly block: number;
  readonly loopbackFallback: boolean;

  constructor(
    seed = process.pid,
    private readonly log: (m: string) => void = () => undefined,
  ) {
    this.block = 1 + (seed % 250);
    this.loopbackFallback = !canAddAddress();
    if (this.loopbackFallback) {
      log('cannot add addresses to lo (no CAP_NET_ADMIN?): pods get 127.x addresses, which EndpointSlices refuse');
    }
  }

  /** The address reserved for pod `namespace/name` (stable for the kubelet's life, like a DNS name). */
  addressOf(namespace: string, name: string): string {
    const key = `${namespace}/${name}`;
    let ip = this.byPod.get(key);
    if (ip === undefined) {
      const n = this.next++;
      if (n > 254) throw new Error('PodNetwork: more than 253 pods in one test kubelet; start another');
      ip = this.loopbackFallback ? `127.${100 + (this.block % 150)}.0.${n}` : `10.244.${this.block}.${n}`;
      this.byPod.set(key, ip);
    }
    return ip;
  }

  /** Brings the pod's address up (idempotent). */
  up(ip: string): void {
    if (this.loopbackFallback || this.added.has(ip)) return;
    try {
      execFileSync('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo'], { stdio: 'pipe' });
    } catch (err) {
      const msg = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : String(err);
      if (!/exists/i.test(msg)) throw new Error(`ip addr add ${ip}/32 dev lo failed: ${msg}`);
    }
    this.added.add(ip);
  }

  down(ip: string): void {
    if (!this.added.delete(ip)) return;
    try {
      execFileSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo'], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }

  downAll(): void {
    for (const ip of [...this.added]) this.down(ip);
  }
}

function canAddAddress(): boolean {
  const probe = '10.244.255.254';
  try {
    execFileSync('ip', ['addr', 'add', `${probe}/32`, 'dev', 'lo'], { stdio: 'pipe' });
  } catch (err) {
    const msg = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : '';
    return /exists/i.test(msg);
  }
  try {
    execFileSync('ip', ['addr', 'del', `${probe}/32`, 'dev', 'lo'], { stdio: 'pipe' });
  } catch {
    // another kubelet may have removed it
  }
  return true;
}
