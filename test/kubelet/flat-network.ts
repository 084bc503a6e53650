// A flat pod network across test kubelets (member clusters), as Cilium ClusterMesh or Submariner
// give real ones: a pod of one kubelet reaches a pod of another at its pod address, directly, and
// every kubelet keeps its own pod subnet 10.244.<b>.0/24 (its own claimed <b>, its own network
// namespace `dbtopo-pods-<b>` joined to the host by its veth pair `dbtopo<b>`, network.ts).
//
// Shape: one more network namespace, `dbtopo-flat-<n>` (the fabric), shared by the kubelets that
// attach to it. Each attached kubelet gets a second veth pair, `flat0` in its pod namespace and
// `eth<b>` in the fabric; the fabric routes 10.244.<b>.0/24 to `eth<b>` (forwarding on, inside the
// fabric only, with proxy ARP on its ends) and each pod namespace routes every other attached
// subnet to `flat0`. No address, route or sysctl of the host changes: no bridge, no host
// ip_forward; the host reaches each pod over that kubelet's own veth pair, as before.
//
// Why not all pods of all kubelets in ONE namespace: there every pod address is local to every
// pod, so a connection an engine opens without binding its source (MariaDB replication, twemproxy,
// HAProxy, a client) leaves with the *destination's* address as its source (`ip route get` of a
// local address answers `src <that address>`): traffic from member A to member B would look like
// B talking to itself, and no rule could cut A from B. With a namespace per kubelet the kernel
// picks a source address of the sender's own subnet, as a pod's own namespace would.
//
// Partitions (partition()/heal()) are iptables DROP rules in the fabric's FORWARD chain (chain
// DBTOPO-PARTITION), both directions between two subnets: silent loss, as a real partition,
// not a refusal; traffic inside a subnet and from the host does not cross the fabric and stays.
// The rules live in the fabric namespace and go with it.
//
// Cleanup as for pod networks: destroy() (and a process exit hook) deletes the fabric namespace;
// a fabric of a killed run (owner pid in $TMPDIR/<netns>.owner gone) is removed by the next
// PodNetwork or FlatNetwork created on the machine (network.ts removeAbandonedNamespaces).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { claimNumber, releaseNumber } from './claims.js';
import { ownerFile, removeAbandonedNamespaces } from './network.js';

/** What the fabric needs of a kubelet's pod network (PodNetwork has it). */
export interface FlatMember {
  readonly block: number;
  readonly netns: string;
}

const CHAIN = 'DBTOPO-PARTITION';
export const FLAT_NETNS_PREFIX = 'dbtopo-flat-';

export class FlatNetwork {
  /** The fabric namespace. */
  readonly netns: string;
  private readonly number: number;
  private readonly members = new Map<number, FlatMember>();
  private readonly cuts = new Set<string>();
  private chainReady = false;
  private destroyed = false;
  private readonly exitHook = (): void => this.destroy();

  constructor(
    seed = process.pid,
    private readonly log: (m: string) => void = () => undefined,
  ) {
    this.number = claimNumber('flatnet', 1, 250, seed);
    this.netns = `${FLAT_NETNS_PREFIX}${this.number}`;
    try {
      // One of a killed run with the same claimed number, and any other abandoned one.
      tryIp(['netns', 'del', this.netns]);
      removeAbandonedNamespaces();
      // The owner first: another run's sweep must never see this namespace without one.
      writeFileSync(ownerFile(this.netns), String(process.pid));
      ip(['netns', 'add', this.netns]);
      inNs(this.netns, 'ip', ['link', 'set', 'lo', 'up']);
      inNs(this.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    } catch (err) {
      this.destroy();
      throw new Error(`cannot create the flat pod network namespace ${this.netns} (needs root / CAP_NET_ADMIN): ${stderrOf(err)}`);
    }
    process.on('exit', this.exitHook);
    this.log(`flat pod network ${this.netns} up`);
  }

  /** The attached kubelets' pod subnets (block numbers). */
  get blocks(): number[] {
    return [...this.members.keys()].sort((a, b) => a - b);
  }

  /** Joins a kubelet's pod namespace to the fabric and routes every attached subnet both ways. */
  attach(member: FlatMember): void {
    if (this.destroyed) throw new Error(`flat network ${this.netns} is destroyed`);
    if (this.members.has(member.block)) return;
    const fabricIf = `eth${member.block}`;
    ip(['-n', member.netns, 'link', 'add', 'flat0', 'type', 'veth', 'peer', 'name', fabricIf, 'netns', this.netns]);
    ip(['-n', member.netns, 'link', 'set', 'flat0', 'up']);
    ip(['-n', this.netns, 'link', 'set', fabricIf, 'up']);
    // The fabric's ends hold no address: proxy ARP makes each answer for the subnets behind the others.
    inNs(this.netns, 'sysctl', ['-qw', `net.ipv4.conf.${fabricIf}.proxy_arp=1`]);
    ip(['-n', this.netns, 'route', 'replace', cidrOf(member.block), 'dev', fabricIf]);
    for (const other of this.members.values()) {
      ip(['-n', member.netns, 'route', 'replace', cidrOf(other.block), 'dev', 'flat0']);
      ip(['-n', other.netns, 'route', 'replace', cidrOf(member.block), 'dev', 'flat0']);
    }
    this.members.set(member.block, member);
    this.log(`${member.netns} (${cidrOf(member.block)}) attached to ${this.netns}`);
  }

  /** Undoes attach() (the kubelet stops; its namespace, and with it the veth pair, goes next). */
  detach(block: number): void {
    const member = this.members.get(block);
    if (member === undefined) return;
    this.members.delete(block);
    for (const other of this.members.values()) tryIp(['-n', other.netns, 'route', 'del', cidrOf(block), 'dev', 'flat0']);
    tryIp(['-n', member.netns, 'link', 'del', 'flat0']);
    for (const key of [...this.cuts]) if (key.split('-').map(Number).includes(block)) this.cuts.delete(key);
  }

  /**
   * Cuts all traffic between subnets `a` and `b` (block numbers), both directions: packets are
   * dropped in the fabric (silently, a partition, not a refusal). Idempotent.
   */
  partition(a: number, b: number): void {
    if (a === b) throw new Error(`cannot partition subnet ${cidrOf(a)} from itself`);
    for (const x of [a, b]) if (!this.members.has(x)) throw new Error(`${cidrOf(x)} is not attached to ${this.netns} (attached: ${this.blocks.map(cidrOf).join(', ')})`);
    const key = cutKey(a, b);
    if (this.cuts.has(key)) return;
    this.ensureChain();
    iptables(this.netns, ['-A', CHAIN, '-s', cidrOf(a), '-d', cidrOf(b), '-j', 'DROP']);
    iptables(this.netns, ['-A', CHAIN, '-s', cidrOf(b), '-d', cidrOf(a), '-j', 'DROP']);
    this.cuts.add(key);
    this.log(`partition ${cidrOf(a)} | ${cidrOf(b)}`);
  }

  /** Lifts the partition between `a` and `b`, or every partition when called without arguments. */
  heal(a?: number, b?: number): void {
    if (this.destroyed) return; // its rules went with it
    if (a === undefined || b === undefined) {
      if (this.chainReady) iptables(this.netns, ['-F', CHAIN]);
      this.cuts.clear();
      this.log('partitions healed');
      return;
    }
    const key = cutKey(a, b);
    if (!this.cuts.delete(key)) return;
    tryIptables(this.netns, ['-D', CHAIN, '-s', cidrOf(a), '-d', cidrOf(b), '-j', 'DROP']);
    tryIptables(this.netns, ['-D', CHAIN, '-s', cidrOf(b), '-d', cidrOf(a), '-j', 'DROP']);
    this.log(`partition ${cidrOf(a)} | ${cidrOf(b)} healed`);
  }

  /** The partitions in force, as pairs of block numbers (lower first). */
  partitions(): Array<[number, number]> {
    return [...this.cuts].map((k) => k.split('-').map(Number) as [number, number]);
  }

  /** The fabric's DROP rules as iptables prints them (for a test to check what is in force). */
  rules(): string[] {
    if (this.destroyed) return [];
    try {
      return execFileSync('ip', ['netns', 'exec', this.netns, 'iptables', '-w', '5', '-S', CHAIN], { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 })
        .split('\n')
        .filter((l) => l.startsWith('-A '));
    } catch {
      return [];
    }
  }

  /** Deletes the fabric namespace (its veth ends, routes and rules go with it). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.exitHook);
    for (const block of [...this.members.keys()]) this.detach(block);
    tryIp(['netns', 'del', this.netns]);
    rmSync(ownerFile(this.netns), { force: true });
    releaseNumber('flatnet', this.number);
  }

  private ensureChain(): void {
    if (this.chainReady) return;
    try {
      execFileSync('iptables', ['--version'], { stdio: 'pipe', timeout: 10_000 });
    } catch {
      throw new Error('partitions need iptables (Debian package `iptables`; test/node/ensure-runtime.sh and test/federation/global-setup.ts install it)');
    }
    iptables(this.netns, ['-N', CHAIN]);
    iptables(this.netns, ['-I', 'FORWARD', '1', '-j', CHAIN]);
    this.chainReady = true;
  }
}

export function cidrOf(block: number): string {
  return `10.244.${block}.0/24`;
}

function cutKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
}

function tryIp(args: string[]): void {
  try {
    ip(args);
  } catch {
    // not there
  }
}

function inNs(netns: string, command: string, args: string[]): void {
  execFileSync('ip', ['netns', 'exec', netns, command, ...args], { stdio: 'pipe', timeout: 10_000 });
}

function iptables(netns: string, args: string[]): void {
  try {
    inNs(netns, 'iptables', ['-w', '5', ...args]);
  } catch (err) {
    throw new Error(`iptables ${args.join(' ')} in ${netns} failed: ${stderrOf(err)}`);
  }
}

function tryIptables(netns: string, args: string[]): void {
  try {
    iptables(netns, args);
  } catch {
    // already gone
  }
}

function stderrOf(err: unknown): string {
  return (err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : String(err)).trim();
}
