// Runs one engine process the way a container runtime runs a container: starts it, restarts it
// when it exits (bounded exponential backoff, like CrashLoopBackOff), counts restarts, and stops
// it on request. Each process gets its own process group so a signal reaches its children too.
import { spawn, type ChildProcess } from 'node:child_process';
import { diesWithParent } from '../support/pdeathsig.js';
import * as fs from 'node:fs';

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  /** stdout + stderr are appended here. */
  logFile: string;
  env?: Record<string, string>;
}

export interface SupervisorOptions {
  /** First restart delay; doubles per consecutive crash up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run longer than this resets the backoff. */
  resetAfterMs?: number;
  onStateChange?: () => void;
}

/** Every live supervised pid, so an exit handler can kill what a crashed test left behind. */
const livePids = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) killGroup(pid, 'SIGKILL');
  });
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private holdUntil = 0;
  /** The next exit is a planned restart (new config): restart at once, do not count it. */
  private planned = false;
  /** hold(): no start and no restart until release(). */
  private held = false;
  /** A start (first: false, or a restart: true) that hold() deferred. */
  private deferred: { restart: boolean } | undefined;
  restartCount = 0;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; at: Date } | undefined;
  startedAtDate: Date | undefined;

  constructor(
    private spec: ProcessSpec,
    private readonly opts: SupervisorOptions = {},
  ) {
    this.backoffMs = opts.initialBackoffMs ?? 200;
    installExitHook();
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopped || this.child !== undefined) return;
    if (this.held) {
      this.deferred ??= { restart: false };
      return;
    }
    const out = fs.openSync(this.spec.logFile, 'a');
    const run = diesWithParent(this.spec.command, this.spec.args);
    const child = spawn(run.command, run.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    this.child = child;
    this.startedAt = Date.now();
    this.startedAtDate = new Date();
    if (child.pid !== undefined) livePids.add(child.pid);
    child.on('error', (err) => {
      fs.appendFileSync(this.spec.logFile, `[supervisor] spawn failed: ${err.message}\n`);
    });
    child.on('exit', (code, signal) => {
      if (child.pid !== undefined) livePids.delete(child.pid);
      this.child = undefined;
      if (this.stopped) return;
      if (this.planned) {
        this.planned = false;
        this.start();
        this.opts.onStateChange?.();
        return;
      }
      this.lastExit = { code, signal, at: new Date() };
      if (this.held) {
        this.deferred = { restart: true };
        this.opts.onStateChange?.();
        return;
      }
      if (Date.now() - this.startedAt > (this.opts.resetAfterMs ?? 10_000)) this.backoffMs = this.opts.initialBackoffMs ?? 200;
      const delay = Math.max(this.backoffMs, this.holdUntil - Date.now());
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 5_000);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopped) return;
        this.restartCount++;
        this.start();
        this.opts.onStateChange?.();
      }, delay);
      this.opts.onStateChange?.();
    });
  }

  /**
   * Sends `signal` to the running process (fault injection); the supervisor restarts it, not
   * before `holdMs` (a slow restart, e.g. to let Sentinel notice the loss).
   */
  signal(signal: NodeJS.Signals, holdMs = 0): void {
    this.holdUntil = Date.now() + holdMs;
    if (this.child?.pid !== undefined) killGroup(this.child.pid, signal);
  }

  /**
   * Keeps the process down until release(): no restart after it exits (e.g. signal('SIGKILL')
   * right after), and no start if it has not started yet. A member cluster's lost node.
   */
  hold(): void {
    this.held = true;
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.deferred = { restart: true };
    }
  }

  /** Ends hold(): the process starts again at once if it is down (counted as a restart if it had run). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    const d = this.deferred;
    this.deferred = undefined;
    if (d === undefined || this.stopped || this.child !== undefined) return;
    this.backoffMs = this.opts.initialBackoffMs ?? 200;
    if (d.restart) this.restartCount++;
    this.start();
    this.opts.onStateChange?.();
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Restarts the process with a new spec (e.g. re-rendered config); not counted as a restart. */
  replace(spec: ProcessSpec): void {
    this.spec = spec;
    if (this.child?.pid === undefined) return;
    this.planned = true;
    killGroup(this.child.pid, 'SIGTERM');
  }

  /** Stops for good: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.pid === undefined) return;
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    killGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([exited, forced]);
    clearTimeout(timer);
    await exited;
  }
}
