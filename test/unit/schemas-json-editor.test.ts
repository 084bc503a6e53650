// Editors for real: the yaml-language-server that editors run (VS Code's YAML extension, and any
// LSP client configured with it) driven over the Language Server Protocol, on topology files
// that name dbtopo's schema the way ours do, with the `# yaml-language-server: $schema=…` modeline.
// The server gets a temporary copy of the example repository as its workspace, so the modeline's
// relative path resolves as it does in a checkout. What it must give: completion of dbtopo's
// fields and enum values, schema-violations located at the offending key or value, and hover
// with the schema's descriptions. The settings turn off the schema store and CRD store downloads
// (on by default; a test has no internet), as an offline user would.
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LspClient } from '../support/lsp-client.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER = join(ROOT, 'node_modules/yaml-language-server/bin/yaml-language-server');
const MODELINE = '# yaml-language-server: $schema=../../schemas/json/topology.schema.json';
const topologySchema = JSON.parse(await readFile(join(ROOT, 'schemas/json/topology.schema.json'), 'utf8')) as {
  properties: Record<string, { description?: string }>;
};

interface Position { line: number; character: number }
interface Range { start: Position; end: Position }
interface Diagnostic { range: Range; message: string; severity?: number; source?: string }
interface PublishDiagnostics { uri: string; version?: number; diagnostics: Diagnostic[] }
interface CompletionItem { label: string; kind?: number; insertText?: string }
interface Hover { contents: { kind: string; value: string }; range?: Range }

let dir = '';
let lsp: LspClient | undefined;
let opened = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbtopo-lsp-'));
  await cp(join(ROOT, 'schemas/json'), join(dir, 'schemas/json'), { recursive: true });
  for (const sub of ['envs', 'topologies']) await cp(join(ROOT, 'environments', sub), join(dir, 'environments', sub), { recursive: true });
  lsp = new LspClient(process.execPath, [SERVER, '--stdio'], {
    cwd: dir,
    timeoutMs: 20_000,
    settings: { yaml: { validate: true, completion: true, hover: true, schemaStore: { enable: false }, kubernetesCRDStore: { enable: false } } },
  });
  const workspace = pathToFileURL(dir).href;
  await lsp.request('initialize', {
    processId: process.pid,
    rootUri: workspace,
    workspaceFolders: [{ uri: workspace, name: 'gitops' }],
    capabilities: {
      workspace: { configuration: true, workspaceFolders: true },
      textDocument: { completion: { completionItem: { snippetSupport: true } }, hover: { contentFormat: ['markdown', 'plaintext'] }, publishDiagnostics: {} },
    },
  });
  lsp.notify('initialized', {}); // the server then pulls its settings (workspace/configuration)
}, 30_000);

afterAll(async () => {
  await lsp?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function server(): LspClient {
  if (lsp === undefined) throw new Error('language server not started');
  return lsp;
}

/** didOpen `text` as environments/<path> (a fresh version each time); its first diagnostics. */
async function open(path: string, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
  const uri = pathToFileURL(join(dir, 'environments', path)).href;
  const version = ++opened;
  server().notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version, text } });
  const published = await server().waitFor<PublishDiagnostics>('textDocument/publishDiagnostics', (p) => p.uri === uri);
  return { uri, diagnostics: published.diagnostics };
}

/** Diagnostics as [start line, character], [end line, character], message, source; in line order. */
function located(diagnostics: Diagnostic[]) {
  return diagnostics
    .map((d) => ({ start: [d.range.start.line, d.range.start.character], end: [d.range.end.line, d.range.end.character], message: d.message, source: d.source }))
    .sort((a, b) => a.start[0]! - b.start[0]! || a.start[1]! - b.start[1]!);
}

async function labels(uri: string, position: Position): Promise<string[]> {
  const list = await server().request<{ items: CompletionItem[] } | CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position });
  return (Array.isArray(list) ? list : list.items).map((i) => i.label);
}

describe('yaml-language-server with dbtopo schemas (modeline)', () => {
  it('finds nothing wrong in the example topologies and environments', async () => {
    for (const sub of ['topologies', 'envs']) {
      for (const file of (await readdir(join(dir, 'environments', sub))).filter((f) => f.endsWith('.yaml')).sort()) {
        const text = await readFile(join(dir, 'environments', sub, file), 'utf8');
        expect(text.split('\n')[0], `${sub}/${file} names its schema`).toMatch(/^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/json\/(topology|environment)\.schema\.json$/);
        const { diagnostics } = await open(`${sub}/${file}`, text);
        expect(diagnostics, `${sub}/${file}`).toEqual([]);
      }
    }
  });

  it('completes the fields of a topology and the values of engine and mode', async () => {
    const { uri } = await open('topologies/new-cache.yaml', [
      MODELINE, //   line 0
      'name: new-cache', // 1
      'engine: ', //        2: value of engine, after "engine: "
      '', //                3: a new key of the top-level mapping
      '',
    ].join('\n'));
    const fields = await labels(uri, { line: 3, character: 0 });
    expect(fields).toEqual(expect.arrayContaining(['mode', 'version', 'replicas', 'shards', 'team', 'namespace', 'resources', 'storage', 'sentinel', 'proxy', 'credentials', 'overrides']));
    expect(fields).not.toContain('name'); // already there
    expect(fields).not.toContain('engine');
    expect(await labels(uri, { line: 2, character: 8 })).toEqual(['redis', 'mysql']);
    // mode after engine: redis. The schema narrows mode per engine (allOf/if/then); the server's
    // completion does not apply if/then and offers every mode, but its validation does (below).
    const redis = await open('topologies/redis-modes.yaml', [MODELINE, 'name: redis-modes', 'engine: redis', 'mode: ', ''].join('\n'));
    expect(await labels(redis.uri, { line: 3, character: 6 })).toEqual(expect.arrayContaining(['standalone', 'replication', 'proxied-replication', 'sharded']));
  });

  it('locates schema violations at the offending key or value, with the schema\'s message', async () => {
    const { diagnostics } = await open('topologies/broken-cache.yaml', [
      MODELINE, //                line 0
      'name: broken-cache', //    1
      'engine: memcached', //     2: not in the enum
      'mode: standalone', //      3
      'version: 7.2.4', //        4
      'replicas: 0', //           5: below the minimum of 1
      'shard: 2', //              6: not a property (shards is)
      '',
    ].join('\n'));
    expect(located(diagnostics)).toEqual([
      { start: [2, 8], end: [2, 17], message: 'Value is not accepted. Valid values: "redis", "mysql".', source: 'yaml-schema: dbtopo topology' },
      { start: [5, 10], end: [5, 11], message: 'Value is below the minimum of 1.', source: 'yaml-schema: dbtopo topology' },
      { start: [6, 0], end: [6, 5], message: 'Property shard is not allowed.', source: 'yaml-schema: dbtopo topology' },
    ]);
    expect(diagnostics.every((d) => d.severity === 1)).toBe(true); // errors, not warnings

    // the schema's per-engine rule (allOf/if/then): Redis has no primary-replica mode
    const redis = await open('topologies/redis-primary-replica.yaml', [MODELINE, 'name: redis-pr', 'engine: redis', 'mode: primary-replica', 'version: 7.2.4', 'replicas: 2', ''].join('\n'));
    expect(located(redis.diagnostics)).toEqual([
      { start: [3, 6], end: [3, 21], message: 'Value is not accepted. Valid values: "standalone", "replication", "proxied-replication", "sharded".', source: 'yaml-schema: dbtopo topology' },
    ]);
  });

  it('checks environment files against the environment schema', async () => {
    const { diagnostics } = await open('envs/qa.yaml', [
      '# yaml-language-server: $schema=../../schemas/json/environment.schema.json', // line 0
      'name: qa', //                   1
      'memberClusters:', //            2
      '  - name: qa-main', //          3
      '    destination: { server: https://kubernetes.default.svc }', // 4
      'namespaces: db-{team}-qa', //   5: namespace, misspelt
      '',
    ].join('\n'));
    expect(located(diagnostics)).toEqual([
      { start: [1, 0], end: [1, 1], message: 'Missing property "namespace".', source: 'yaml-schema: dbtopo environment' }, // at the mapping's first key
      { start: [3, 4], end: [3, 5], message: 'Missing property "zones".', source: 'yaml-schema: dbtopo environment' },
      { start: [5, 0], end: [5, 10], message: 'Property namespaces is not allowed.', source: 'yaml-schema: dbtopo environment' },
    ]);
  });

  it('shows the schema\'s description on hover', async () => {
    const { uri } = await open('topologies/hover-cache.yaml', [MODELINE, 'name: hover-cache', 'engine: redis', 'replicas: 2', ''].join('\n'));
    const description = topologySchema.properties.replicas?.description;
    expect(description).toBe('Servers per shard, primary included (1..100). Standalone takes exactly 1.');
    const hover = await server().request<Hover>('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 3 } });
    expect(hover.contents.value).toContain(description);
    expect(hover.range).toEqual({ start: { line: 3, character: 0 }, end: { line: 3, character: 8 } });
  });
});
