// The types in schemas/types/ are derived from the schemas; this checks schemas and types against
// real documents (test/fixtures/schema-documents.ts): ajv validates each document against its
// schema, and the TypeScript compiler checks the fixture file, where each document `satisfies` its
// derived type. The last tests rename a field in a schema (in memory) and see both checks fail.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { clusterSchema } from '../../schemas/crds/cluster.crd.js';
import { instanceSetSchema } from '../../schemas/crds/instanceset.crd.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { topologySchema } from '../../schemas/topology.schema.js';
import * as documents from '../fixtures/schema-documents.js';
import { toJsonSchema } from '../support/crd-json-schema.js';

type Schema = { properties: Record<string, Schema>; required?: string[] };

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = `${root}test/fixtures/schema-documents.ts`;

// --- ajv -------------------------------------------------------------------------------------

function messages(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

function jsonSchemaErrors(schema: object, doc: unknown): string[] {
  const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return validate(doc) ? [] : messages(validate.errors);
}

function crdSchemaErrors(schema: object, doc: unknown): string[] {
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(toJsonSchema(schema) as object);
  return validate(doc) ? [] : messages(validate.errors);
}

/** A deep copy of `schema` with property `from` of the object node at `path` renamed to `to`. */
function renamed(schema: object, path: string[], from: string, to: string): Schema {
  const copy = JSON.parse(JSON.stringify(schema)) as Schema;
  const node = path.reduce((n, p) => n.properties[p]!, copy);
  const { [from]: field, ...rest } = node.properties;
  node.properties = { ...rest, [to]: field! };
  if (node.required) node.required = node.required.map((r) => (r === from ? to : r));
  return copy;
}

// --- tsc -------------------------------------------------------------------------------------

const config = ts.readConfigFile(`${root}tsconfig.json`, (f) => ts.sys.readFile(f));
const options: ts.CompilerOptions = { ...ts.parseJsonConfigFileContent(config.config, ts.sys, root).options, noEmit: true };
const parsed = new Map<string, ts.SourceFile | undefined>();

/**
 * Type errors of the program made of the fixture file and what it imports, as "file: message";
 * `edits` replaces text in the source of a file (absolute path → [text, replacement]).
 */
function typeErrors(edits: Record<string, [string, string][]> = {}): string[] {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError) => {
    const edit = edits[fileName];
    if (edit) {
      let text = readFileSync(fileName, 'utf8');
      for (const [from, to] of edit) {
        if (!text.includes(from)) throw new Error(`${fileName} no longer contains ${from}`);
        text = text.replace(from, to);
      }
      return ts.createSourceFile(fileName, text, language);
    }
    if (!parsed.has(fileName)) parsed.set(fileName, read(fileName, language, onError));
    return parsed.get(fileName);
  };
  const program = ts.createProgram([fixture], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? d.file.fileName.slice(root.length) : '-'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

const inFixture = (errors: string[]) => errors.filter((e) => e.startsWith('test/fixtures/schema-documents.ts: '));

// --- the checks ------------------------------------------------------------------------------

describe('real documents fit both the schemas and the types derived from them', () => {
  it('the topology is valid under topology.schema', () => {
    expect(jsonSchemaErrors(topologySchema, documents.topology)).toEqual([]);
  });

  it('the environment is valid under environment.schema', () => {
    expect(jsonSchemaErrors(environmentSchema, documents.environment)).toEqual([]);
  });

  it('the Cluster is valid under the clusters.dbtopo.dev CRD schema', () => {
    expect(crdSchemaErrors(clusterSchema, documents.cluster)).toEqual([]);
  });

  it('the InstanceSet is valid under the instancesets.dbtopo.dev CRD schema', () => {
    expect(crdSchemaErrors(instanceSetSchema, documents.instanceSet)).toEqual([]);
  });

  it('each document satisfies its derived type (tsc on the fixture file)', () => {
    expect(typeErrors()).toEqual([]);
  }, 60_000);
});

describe('a field renamed in a schema fails both checks', () => {
  it('InstanceSet spec.engine.port renamed in the CRD schema', () => {
    const schema = renamed(instanceSetSchema, ['spec', 'engine'], 'port', 'listenPort');
    expect(crdSchemaErrors(schema, documents.instanceSet)).toEqual([
      '/spec/engine must have required property \'listenPort\' {"missingProperty":"listenPort"}',
      '/spec/engine must NOT have additional properties {"additionalProperty":"port"}',
    ]);

    const errors = typeErrors({
      [`${root}schemas/crds/instanceset.crd.ts`]: [
        ["    port: int('Container port the engine listens on.'", "    listenPort: int('Container port the engine listens on.'"],
        ["['type', 'version', 'port']", "['type', 'version', 'listenPort']"],
      ],
    });
    expect(errors.length).toBeGreaterThan(0);
    expect(inFixture(errors)).toEqual(errors);
    expect(errors.join('\n')).toMatch(/'port' does not exist in type/);
  }, 60_000);

  it('topology team renamed in topology.schema', () => {
    const schema = renamed(topologySchema, [], 'team', 'owner');
    expect(jsonSchemaErrors(schema, documents.topology)).toContain('/ must NOT have additional properties {"additionalProperty":"team"}');

    const errors = typeErrors({
      [`${root}schemas/topology.schema.ts`]: [['    team: name63(', '    owner: name63(']],
    });
    expect(errors.length).toBeGreaterThan(0);
    expect(inFixture(errors)).toEqual(errors);
    expect(errors.join('\n')).toMatch(/'team' does not exist in type/);
  }, 60_000);
});
