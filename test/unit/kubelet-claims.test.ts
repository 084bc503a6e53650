// test/kubelet/claims.ts: numbered resources (loopback blocks, pod network blocks) go to one live
// process at a time, machine-wide; a dead owner's claim is taken over.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { claimNumber, releaseNumber } from '../kubelet/claims.js';
import { AddressPool } from '../kubelet/net.js';

const dir = path.join(os.tmpdir(), 'dbtopo-claims');
const kind = `unit-${process.pid}`;

describe('machine-wide claims', () => {
  it('two claims from one seed get different numbers; a released one is handed out again', () => {
    const a = claimNumber(kind, 1, 3, 0);
    const b = claimNumber(kind, 1, 3, 0);
    expect(a).not.toBe(b);
    releaseNumber(kind, a);
    expect(claimNumber(kind, 1, 3, 0)).toBe(a);
    releaseNumber(kind, a);
    releaseNumber(kind, b);
  });

  it("skips a live process's claim, takes over a dead one's, and says when none is left", () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${kind}-1`), String(process.ppid)); // alive: the runner
    fs.writeFileSync(path.join(dir, `${kind}-2`), String(deadPid)); // gone
    try {
      expect(claimNumber(kind, 1, 2, 0)).toBe(2);
      expect(fs.readFileSync(path.join(dir, `${kind}-2`), 'utf8')).toBe(String(process.pid));
      expect(() => claimNumber(kind, 1, 2, 0)).toThrow(/no free/);
    } finally {
      releaseNumber(kind, 2);
      fs.rmSync(path.join(dir, `${kind}-1`), { force: true });
    }
  });

  it('two address pools in one process hand out disjoint addresses', () => {
    const p = new AddressPool(7);
    const q = new AddressPool(7);
    try {
      expect(p.b).not.toBe(q.b);
      expect(p.allocate().split('.')[1]).not.toBe(q.allocate().split('.')[1]);
    } finally {
      p.release();
      q.release();
    }
  });

  it("a process's first claim removes the claims of dead owners, of every kind, and leaves live ones", async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    fs.mkdirSync(dir, { recursive: true });
    const deadFile = path.join(dir, `${kind}-other-7`);
    const liveFile = path.join(dir, `${kind}-other-8`);
    fs.writeFileSync(deadFile, String(dead));
    fs.writeFileSync(liveFile, String(process.ppid));
    try {
      vi.resetModules();
      const fresh = (await import('../kubelet/claims.js')) as typeof import('../kubelet/claims.js');
      const n = fresh.claimNumber(kind, 1, 1, 0);
      fresh.releaseNumber(kind, n);
      expect(fs.existsSync(deadFile)).toBe(false);
      expect(fs.existsSync(liveFile)).toBe(true);
    } finally {
      fs.rmSync(deadFile, { force: true });
      fs.rmSync(liveFile, { force: true });
    }
  });
});
