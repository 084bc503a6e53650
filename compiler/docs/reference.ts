// The reference docs `npm run schemas` writes beside the schemas: docs/topology-language.md (from
// the JSON Schemas' descriptions and the mode table, schemas/modes.ts) and docs/diagnostics.md
// (from the diagnostic catalogue, compiler/diagnostics/codes.ts). Pure; test/unit/schemas.test.ts
// fails when a committed file is out of date. It lives in the compiler, not in schemas/, so that
// schemas/ imports nothing of the compiler's.
import { CODES } from '../diagnostics/codes.js';
import { GENERATED, schemaArtifacts, type Artifact } from '../../schemas/artifacts.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { MODES, MYSQL_MODES, PROXY_KIND, REDIS_MODES, type ModeRule } from '../../schemas/modes.js';
import { MAX_REPLICAS } from '../../schemas/fragments.js';
import { topologySchema } from '../../schemas/topology.schema.js';

/** Every generated file: the schemas and CRDs, then these docs. */
export function artifacts(): Artifact[] {
  return [
    ...schemaArtifacts(),
    { path: 'docs/topology-language.md', text: topologyLanguageDoc() },
    { path: 'docs/diagnostics.md', text: diagnosticsDoc() },
  ];
}

/** Plain text into a Markdown table cell: no emphasis from "__proto__" or "*a", no HTML from "<env>". */
function md(text: string): string {
  return text.replace(/[\\|_*<>]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`));
}

/** The example the reference opens with; test/unit/schemas.test.ts validates it. */
export const EXAMPLE_TOPOLOGY = `# yaml-language-server: $schema=../../schemas/json/topology.schema.json
name: sessions-cache
team: identity
engine: redis
mode: replication          # primary + replicas, Sentinel fails over
version: 7.2.4
replicas: 2                # servers per shard, primary included
resources: { cpu: 500m, memory: 1Gi }
storage: { size: 5Gi }
sentinel: { replicas: 3, quorum: 2 }
credentials:
  password: { name: sessions-cache-auth, key: password }   # a Secret, never a literal
overrides:
  prod:                    # prod sees 3 replicas, bigger pods, spread over zones
    replicas: 3
    resources: { cpu: "2", memory: 8Gi }
    placement: { zoneSpread: true, antiAffinity: required }
`;

// ── docs/topology-language.md ─────────────────────────────────────────────────────────────────

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
};

function deref(root: Schema, s: Schema): Schema {
  if (!s.$ref) return s;
  const name = s.$ref.replace('#/$defs/', '');
  const target = (root.$defs as Record<string, Schema>)[name]!;
  // A description next to the $ref is more specific than the referenced definition's.
  return { ...target, ...(s.description ? { description: s.description } : {}) };
}

function typeText(root: Schema, s0: Schema): string {
  const s = deref(root, s0);
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const t = ([] as string[]).concat(s.type ?? 'any');
  if (t.includes('array')) return `list of ${typeText(root, s.items ?? {})}`;
  if (t.includes('object') && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map of ${typeText(root, s.additionalProperties)}`;
  }
  const bounds: string[] = [];
  if (typeof s.minimum === 'number' || typeof s.maximum === 'number') bounds.push(`${String(s.minimum ?? '')}..${String(s.maximum ?? '')}`);
  if (typeof s.maxLength === 'number') bounds.push(`≤ ${String(s.maxLength)} chars`);
  return t.join(' or ') + (bounds.length ? ` (${bounds.join(', ')})` : '');
}

/** One table per object, depth first: `sentinel`, `overrides.<env>`, `instances[]` … */
function objectSections(root: Schema, s0: Schema, path: string, out: string[]): void {
  const s = deref(root, s0);
  const props = s.properties;
  if (props) {
    out.push(`### \`${path}\``, '', md(s.description ?? ''), '', '| field | type | required | description |', '|---|---|---|---|');
    for (const [name, p] of Object.entries(props)) {
      const d = deref(root, p);
      const req = (s.required ?? []).includes(name) ? 'yes' : '';
      out.push(`| \`${name}\` | ${typeText(root, p)} | ${req} | ${md(d.description ?? '')} |`);
    }
    out.push('');
    for (const [name, p] of Object.entries(props)) objectSections(root, p, path === 'top level' ? name : `${path}.${name}`, out);
  } else if (s.items) {
    objectSections(root, s.items, `${path}[]`, out);
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const key = path.endsWith('overrides') ? '<env>' : '<key>';
    objectSections(root, s.additionalProperties, `${path}.${key}`, out);
  }
}

function topologyLanguageDoc(): string {
  const out = [
    '# Topology language reference',
    '',
    `<!-- ${GENERATED} -->`,
    '',
    'A GitOps repository holds `envs/<env>.yaml` (one environment each) and `topologies/**/*.yaml`',
    '(one topology each). Both are validated against JSON Schemas (`schemas/json/`); add a modeline',
    'such as `# yaml-language-server: $schema=../../schemas/json/topology.schema.json` at the top of',
    'a file for completion and inline help in editors. Beyond the schema, `dbtopo validate` checks',
    'semantic rules and each environment\'s policy, on the topology as that environment sees it',
    '(after `overrides.<env>`); see [diagnostics](diagnostics.md).',
    '',
    '## Example',
    '',
    '```yaml',
    ...EXAMPLE_TOPOLOGY.trimEnd().split('\n'),
    '```',
    '',
    'More in `environments/topologies/` (every mode) and `environments/envs/` (dev, staging, prod).',
    '',
    '## Editors',
    '',
    'Editors that run [yaml-language-server](https://github.com/redhat-developer/yaml-language-server)',
    '(VS Code with Red Hat\'s YAML extension; Neovim, Helix, Emacs or any other LSP client started with',
    '`yaml-language-server --stdio`) complete, check and explain these files from the JSON Schemas.',
    'Tell the server which schema a file follows:',
    '',
    '- per file, with the modeline on its first line, as every example file has:',
    '  `# yaml-language-server: $schema=../../schemas/json/topology.schema.json` (or',
    '  `environment.schema.json` for `envs/*.yaml`). The path is relative to the file; in a repository',
    '  of your own, point it at a copy of `schemas/json/` (the npm package ships it).',
    '- for a whole repository, with the `yaml.schemas` setting, schema → glob, e.g. in VS Code\'s',
    '  `settings.json`: `"yaml.schemas": { "/path/to/schemas/json/topology.schema.json": "topologies/**/*.yaml" }`',
    '  (the test below does not cover this form).',
    '',
    'What `test/unit/schemas-json-editor.test.ts` checks, driving the real yaml-language-server (a',
    'devDependency) over LSP with modelines: the example files have no diagnostics; completion in a',
    'topology offers its fields (`mode`, `version`, `replicas`, `shards`, …) and the values of `engine`',
    '(`redis`, `mysql`); errors are placed on the offending key or value with the schema\'s message (a',
    'value outside an enum, below a minimum, an unknown property, a mode the engine does not have, a',
    'missing required field of an environment); hover on a field shows its description. Completion of',
    '`mode` offers every mode whatever the engine (the server does not narrow completion by the',
    'schema\'s per-engine rule); validation then flags a wrong one.',
    '',
    '## Modes',
    '',
    'What each engine and mode takes (enforced by DBT3011, DBT3012, DBT3022, DBT3023, DBT3030, DBT3031, DBT3032).',
    'The table is `schemas/modes.ts`, which the schema, the rules, resolve, place and expand read: adding a',
    'mode starts there, then its objects in `compiler/expand/`.',
    '',
    '| engine | mode | what it is | replicas | shards | sentinel | proxy |',
    '|---|---|---|---|---|---|---|',
    ...[...REDIS_MODES, ...MYSQL_MODES].map((mode) => {
      const r: ModeRule = MODES[mode];
      return `| ${r.engine} | \`${mode}\` | ${md(r.doc)} | ${r.maxReplicas === 1 ? '1' : `1..${r.maxReplicas ?? MAX_REPLICAS}`} | ${r.sharded ? 'required' : '—'} | ${r.sentinel} | ${r.proxy === 'forbidden' ? 'forbidden' : `${r.proxy} (${PROXY_KIND[r.engine]})`} |`;
    }),
    '',
    '## Overrides',
    '',
    '`overrides.<env>` changes a topology for one environment: scalars (`version`, `replicas`,',
    '`shards`) replace the base value; `resources`, `storage`, `sentinel`, `proxy`, `placement` and',
    '`parameters` merge field by field; `instances` replaces the whole list. Semantic rules and the',
    'environment\'s policy are checked on the result, and a diagnostic points at the override line',
    'when the override set the offending value.',
    '',
    '## Topology files',
    '',
  ];
  objectSections(topologySchema as unknown as Schema, topologySchema as unknown as Schema, 'top level', out);
  out.push('## Environment files', '');
  objectSections(environmentSchema as unknown as Schema, environmentSchema as unknown as Schema, 'top level', out);
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

// ── docs/diagnostics.md ───────────────────────────────────────────────────────────────────────

function diagnosticsDoc(): string {
  const groups: Array<[string, string]> = [
    ['DBT1', 'Load (the file as YAML)'],
    ['DBT2', 'Schema (the shape of a file)'],
    ['DBT3', 'Semantic (a well-shaped file describing something impossible)'],
    ['DBT4', 'Policy (allowed in general, forbidden by one environment)'],
    ['DBT5', 'Expand and emit'],
    ['DBT9', 'Command line'],
  ];
  const out = [
    '# Diagnostics',
    '',
    `<!-- ${GENERATED} (compiler/diagnostics/codes.ts) -->`,
    '',
    'Every problem the compiler finds is reported as',
    '',
    '```',
    'file:line:col severity CODE message',
    '  hint: what to do',
    '```',
    '',
    'with a stable code. All problems are reported at once; a file with an error is left out of the',
    'compile. Policy diagnostics name the environment and point at the line to change: the',
    '`overrides.<env>` field when the override sets the value, the base field otherwise.',
    '',
  ];
  const codes = Object.entries(CODES) as Array<[string, { title: string; hint: string; severity: string }]>;
  for (const [prefix, title] of groups) {
    const rows = codes.filter(([c]) => c.startsWith(prefix));
    if (rows.length === 0) continue;
    out.push(`## ${title}`, '', '| code | severity | meaning | hint |', '|---|---|---|---|');
    for (const [code, info] of rows) out.push(`| ${code} | ${info.severity} | ${md(info.title)} | ${md(info.hint)} |`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
