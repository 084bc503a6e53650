// The test kubelet's stand-in for CNI. Pod addresses must not be loopback: the API server accepts
// 127.x in pod status, but EndpointSlice validation refuses loopback addresses, so Services would
// have no endpoints. So each test kubelet makes one network namespace, its node's pod network,
// joined to the host by a veth pair the way a CNI plugin joins a pod: the host end holds
// 10.244.<b>.1/24, the namespace end holds every pod's address 10.244.<b>.<n>/24, and every engine
// process of this kubelet runs inside the namespace (`ip netns exec`). Traffic to a pod address
// therefore goes to a test host the harness made itself and never leaves the machine. <b> is
// claimed per kubelet (claims.ts) so parallel kubelets, of one run or of several, do not
// collide. Without CAP_NET_ADMIN it falls back to 127.x addresses on the host (engines work,
// EndpointSlices stay empty) and says so. Given a FlatNetwork (flat-network.ts), the namespace is
// also joined to that shared fabric, so pods of several kubelets (member clusters) reach each other.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive, claimNumber, releaseNumber } from './claims.js';
import type { FlatNetwork } from './flat-network.js';
import { AddressPool } from './net.js';

export interface PodNetworkOptions {
  /** Join this kubelet's pod network to a flat network shared with other kubelets. */
  flat?: FlatNetwork;
}

export class PodNetwork {
  private readonly byPod = new Map<string, string>();
  private readonly added = new Set<string>();
  private next = 2;
  private loopback: AddressPool | undefined;
  readonly block: number;
  /** Name of the network namespace every engine of this kubelet runs in. */
  readonly netns: string;
  private readonly hostIf: string;
  readonly loopbackFallback: boolean;
  private readonly flat: FlatNetwork | undefined;

  constructor(
    seed = process.pid,
    private readonly log: (m: string) => void = () => undefined,
    opts: PodNetworkOptions = {},
  ) {
    // Claimed machine-wide: setUp() removes what a dead run left in this block, which must never be a live run's network.
    this.block = claimNumber('podnet', 1, 250, seed);
    this.netns = `dbtopo-pods-${this.block}`;
    this.hostIf = `dbtopo${this.block}`;
    this.loopbackFallback = !this.setUp();
    if (opts.flat !== undefined) {
      if (this.loopbackFallback) {
        this.downAll();
        throw new Error('a flat pod network needs network namespaces (root / CAP_NET_ADMIN); this kubelet fell back to 127.x addresses');
      }
      try {
        opts.flat.attach(this);
      } catch (err) {
        this.downAll();
        throw err;
      }
      this.flat = opts.flat;
    }
  }

  /** This kubelet's pod subnet. */
  get cidr(): string {
    return `10.244.${this.block}.0/24`;
  }

  /** The address reserved for pod `namespace/name` (stable for the kubelet's life, like a DNS name). */
  addressOf(namespace: string, name: string): string {
    const key = `${namespace}/${name}`;
    let ip = this.byPod.get(key);
    if (ip === undefined) {
      const n = this.next++;
      if (n > 254) throw new Error('PodNetwork: more than 253 pods in one test kubelet; start another');
      ip = this.loopbackFallback ? (this.loopback ??= new AddressPool()).allocate() : `10.244.${this.block}.${n}`;
      this.byPod.set(key, ip);
    }
    return ip;
  }

  /** The command line that runs `command` inside the pod network. */
  wrap(command: string, args: string[]): { command: string; args: string[] } {
    if (this.loopbackFallback) return { command, args };
    return { command: 'ip', args: ['netns', 'exec', this.netns, command, ...args] };
  }

  /** Brings the pod's address up (idempotent). */
  up(ip: string): void {
    if (this.loopbackFallback || this.added.has(ip)) return;
    try {
      ipCmd(['netns', 'exec', this.netns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    } catch (err) {
      const msg = stderrOf(err);
      if (!/exists/i.test(msg)) throw new Error(`adding pod address ${ip} in netns ${this.netns} failed: ${msg}`);
    }
    this.added.add(ip);
  }

  down(ip: string): void {
    if (!this.added.delete(ip)) return;
    try {
      ipCmd(['netns', 'exec', this.netns, 'ip', 'addr', 'del', `${ip}/24`, 'dev', 'eth0']);
    } catch {
      // already gone
    }
  }

  /** Removes every pod address and the namespace itself (its veth pair goes with it). */
  downAll(): void {
    for (const ip of [...this.added]) this.down(ip);
    this.flat?.detach(this.block);
    if (!this.loopbackFallback) this.tearDown();
    releaseNumber('podnet', this.block);
  }

  private setUp(): boolean {
    this.tearDown(); // a namespace left by a killed run with the same block
    removeAbandonedNamespaces();
    const gw = `10.244.${this.block}.1`;
    try {
      // The owner first: another run's sweep must never see this namespace without one.
      writeFileSync(ownerFile(this.netns), String(process.pid));
      ipCmd(['netns', 'add', this.netns]);
      ipCmd(['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
      ipCmd(['addr', 'add', `${gw}/24`, 'dev', this.hostIf]);
      ipCmd(['link', 'set', this.hostIf, 'up']);
      ipCmd(['netns', 'exec', this.netns, 'ip', 'link', 'set', 'lo', 'up']);
      ipCmd(['netns', 'exec', this.netns, 'ip', 'link', 'set', 'eth0', 'up']);
      return true;
    } catch (err) {
      this.log(`cannot create the pod network namespace (${stderrOf(err).trim()}; needs root / CAP_NET_ADMIN): pods get 127.x addresses, which EndpointSlices refuse`);
      this.tearDown();
      return false;
    }
  }

  private tearDown(): void {
    rmSync(ownerFile(this.netns), { force: true });
    for (const args of [['link', 'del', this.hostIf], ['netns', 'del', this.netns]]) {
      try {
        ipCmd(args);
      } catch {
        // not there
      }
    }
  }
}

/** Marker naming the process that owns a pod network (or flat fabric) namespace. */
export function ownerFile(netns: string): string {
  return path.join(os.tmpdir(), `${netns}.owner`);
}

/**
 * Pod networks of test runs that were killed before their exit hook ran: a `dbtopo-pods-*` (or
 * flat fabric `dbtopo-flat-*`) namespace whose owner process is gone and with no process left in
 * it (their engines die with their parent, see test/support/pdeathsig.ts).
 */
export function removeAbandonedNamespaces(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return;
  }
  for (const name of list.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith('dbtopo-pods-') || n.startsWith('dbtopo-flat-'))) {
    try {
      const owner = Number(readFileSync(ownerFile(name), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
    } catch {
      // no marker: judge by the processes alone
    }
    try {
      const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000 }).trim();
      if (pids === '') {
        ipCmd(['netns', 'del', name]);
        rmSync(ownerFile(name), { force: true });
      }
    } catch {
      // gone meanwhile
    }
  }
}

function ipCmd(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
}

function stderrOf(err: unknown): string {
  return err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : String(err);
}
