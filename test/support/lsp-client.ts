// A minimal Language Server Protocol client for tests: JSON-RPC 2.0 over a child's stdio with the
// base protocol's `Content-Length` framing (https://microsoft.github.io/language-server-protocol/).
// It sends requests and notifications, answers the server's own requests (workspace/configuration
// with the settings it was given, anything else with null, as a plain editor would), keeps every
// notification so a test can wait for one that arrived before it asked, and bounds every wait.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { diesWithParent } from './pdeathsig.js';

interface Message {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}
interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}
interface Waiter {
  method: string;
  match: (params: unknown) => boolean;
  resolve: (params: unknown) => void;
}

export interface LspClientOptions {
  cwd: string;
  /** Answers workspace/configuration requests: section name → value (missing sections get null). */
  settings: Record<string, unknown>;
  /** Bound of every request and wait, in ms. */
  timeoutMs?: number;
}

export class LspClient {
  readonly notifications: Message[] = [];
  /** The server's stderr, for failure messages. */
  stderr = '';
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters = new Set<Waiter>();
  private readonly timeoutMs: number;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private exited: Promise<void>;

  constructor(command: string, args: readonly string[], private readonly options: LspClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 20_000;
    const wrapped = diesWithParent(command, args);
    this.child = spawn(wrapped.command, wrapped.args, { cwd: options.cwd, stdio: 'pipe' });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.once('exit', (code, signal) => {
      const err = new Error(`language server exited (code ${code}, signal ${signal}): ${this.stderr}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  request<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    this.send({ jsonrpc: '2.0', id, method, params });
    return this.bounded(`response to ${method}`, new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
    }), () => this.pending.delete(id));
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** The first notification `method` (already received or still to come) whose params satisfy `match`. */
  waitFor<T>(method: string, match: (params: T) => boolean = () => true): Promise<T> {
    const seen = this.notifications.find((n) => n.method === method && match(n.params as T));
    if (seen !== undefined) return Promise.resolve(seen.params as T);
    let waiter: Waiter | undefined;
    const arrival = new Promise<T>((resolve) => {
      waiter = { method, match: match as (p: unknown) => boolean, resolve: resolve as (p: unknown) => void };
      this.waiters.add(waiter);
    });
    return this.bounded(`notification ${method}`, arrival, () => waiter !== undefined && this.waiters.delete(waiter));
  }

  /** shutdown + exit as an editor does; SIGKILL when the server is not gone within the bound. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      await this.request('shutdown', null);
      this.notify('exit', null);
      await this.bounded('server exit', this.exited, () => undefined);
    } catch {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private bounded<T>(what: string, promise: Promise<T>, cleanup: () => unknown): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${this.timeoutMs} ms; server stderr: ${this.stderr}`));
      }, this.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private send(message: Message): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.child.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = /Content-Length: *(\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))?.[1];
      if (length === undefined) throw new Error(`LSP header without Content-Length: ${this.buffer.subarray(0, headerEnd)}`);
      const start = headerEnd + 4;
      const end = start + Number(length); // Content-Length counts bytes, not characters
      if (this.buffer.length < end) return;
      const message = JSON.parse(this.buffer.subarray(start, end).toString('utf8')) as Message;
      this.buffer = this.buffer.subarray(end);
      this.dispatch(message);
    }
  }

  private dispatch(message: Message): void {
    if (message.method !== undefined && message.id !== undefined) {
      this.send({ jsonrpc: '2.0', id: message.id, result: this.answer(message.method, message.params) });
    } else if (message.method !== undefined) {
      this.notifications.push(message);
      for (const w of this.waiters) {
        if (w.method === message.method && w.match(message.params)) {
          this.waiters.delete(w);
          w.resolve(message.params);
        }
      }
    } else if (typeof message.id === 'number') {
      const p = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) p?.reject(new Error(`LSP error ${message.error.code}: ${message.error.message}`));
      else p?.resolve(message.result);
    }
  }

  /** The client's side of requests the server sends. */
  private answer(method: string, params: unknown): unknown {
    if (method === 'workspace/configuration') {
      const items = (params as { items: Array<{ section?: string }> }).items;
      return items.map((i) => (i.section !== undefined ? (this.options.settings[i.section] ?? null) : null));
    }
    return null; // client/registerCapability, window/workDoneProgress/create, …: accepted
  }
}
