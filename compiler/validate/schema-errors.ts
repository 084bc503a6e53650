// ajv errors → located diagnostics a person can act on: name the field, what was found, what is
// allowed, and for typos the nearest allowed field.
import type { ErrorObject } from 'ajv';
import type { Code } from '../diagnostics/codes.js';
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import type { Located } from '../load/index.js';
import {
  BYTES_QUANTITY,
  CPU_QUANTITY,
  DNS1035_LABEL,
  DNS1123_LABEL,
  IMAGE,
  LABEL_KEY,
  LABEL_VALUE,
  PARAMETER_NAME,
  REGISTRY,
  VERSION,
} from '../../schemas/fragments.js';
import { nearest } from './nearest.js';
import { pointerToPath, showPath, type Path } from './paths.js';

const PATTERN_TEXT: Record<string, string> = {
  [DNS1123_LABEL]: 'a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  [DNS1035_LABEL]: 'a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
  [CPU_QUANTITY]: 'a CPU quantity such as "500m", "1.5" or "2"',
  [BYTES_QUANTITY]: 'a byte quantity such as "512Mi", "4Gi" or "1G"',
  [VERSION]: 'a version such as "7.2", "7.2.4" or "10.11.6"',
  [LABEL_KEY]: 'a Kubernetes label key such as "disktype" or "example.com/pool"',
  [LABEL_VALUE]: 'a Kubernetes label value (letters, digits, "-", "_", "."; at most 63 characters)',
  [IMAGE]: 'an image reference such as "registry.example.com/redis:7.2.4"',
  [REGISTRY]: 'a registry such as "registry.example.com" or "registry.example.com:5000/db"',
  [PARAMETER_NAME]: 'an engine parameter name such as "maxmemory-policy" or "innodb_buffer_pool_size"',
  ['^[^\\n\\r\\u0000]*$']: 'a single line (no line breaks): a line break would add directives to the config file',
};

const SECRET_WORD = /pass(word|wd)?|secret|token|requirepass|masterauth/i;

/** Fields whose out-of-range values have their own semantic code (documented in the catalogue). */
function rangeCode(path: Path, keyword: string): Code {
  const last = path[path.length - 1];
  if (last === 'replicas') return 'DBT3001';
  if (last === 'shards') return 'DBT3010';
  if (last === 'quorum' && (keyword === 'minimum' || keyword === 'exclusiveMinimum')) return 'DBT3021';
  return 'DBT2006';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_TEXT: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

export function schemaDiagnostics(doc: Located<unknown>, errors: ReadonlyArray<ErrorObject>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const d = one(doc, e);
    if (d) out.push(d);
  }
  return out;
}

function one(doc: Located<unknown>, e: ErrorObject): Diagnostic | undefined {
  const path = pointerToPath(e.instancePath, doc.value);
  const where = showPath(path);
  const at = (p: Path) => doc.locate(p);
  const p = e.params as Record<string, unknown>;
  const desc = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case 'if':
    case 'propertyNames':
      // "if" only says "then failed" (reported by its own error); propertyNames wraps the key's error.
      return undefined;
    case 'additionalProperties': {
      const name = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const fieldPath = [...path, name];
      if (SECRET_WORD.test(name)) {
        return diagnostic('DBT2010', doc.file, at(fieldPath), `field "${name}" would hold a credential as plain text; ${where === 'the file' ? 'it is not a topology field' : `${where} has no such field`}`);
      }
      const guess = nearest(name, allowed);
      const list = allowed.length ? `allowed: ${allowed.join(', ')}` : 'no fields are allowed here';
      return diagnostic('DBT2001', doc.file, at(fieldPath), `unknown field "${name}" ${path.length ? `in ${where}` : 'at the top level'}`, guess ? `did you mean "${guess}"? ${list}` : list);
    }
    case 'required': {
      const name = String(p.missingProperty);
      const sub = (e.parentSchema as { properties?: Record<string, { description?: string }> } | undefined)?.properties?.[name];
      return diagnostic('DBT2002', doc.file, at(path), `missing required field "${name}" in ${where}`, sub?.description ? `add ${name}: ${sub.description}` : undefined);
    }
    case 'type': {
      if (path[path.length - 1] === 'password' || path[path.length - 1] === 'username') {
        if (path.includes('credentials')) {
          // Never echo the value: it may be a real password.
          return diagnostic('DBT2010', doc.file, at(path), `${where} must reference a Secret, not hold a literal ${typeof e.data === 'string' ? 'string' : 'value'}`);
        }
      }
      const types = ([] as string[]).concat(p.type as string | string[]);
      const want = types.map((t) => TYPE_TEXT[t] ?? t).join(' or ');
      // YAML reads 7.2 as a number (and 10.10 as 10.1): quoting is the fix, say so.
      const quote = types.includes('string') && (typeof e.data === 'number' || typeof e.data === 'boolean');
      const hint = quote ? `quote the value: ${String(path[path.length - 1])}: "${String(e.data)}"` : desc ? `${where}: ${desc}` : undefined;
      return diagnostic('DBT2003', doc.file, at(path), `${where} must be ${want}, found ${describe(e.data)}`, hint);
    }
    case 'enum':
    case 'const': {
      const allowed = (e.keyword === 'enum' ? (p.allowedValues as unknown[]) : [p.allowedValue]).map((v) => JSON.stringify(v));
      if (e.schemaPath.includes('/then/') && path.join('/') === 'mode') {
        const engine = (doc.value as { engine?: unknown }).engine;
        return diagnostic('DBT2009', doc.file, at(path), `mode ${JSON.stringify(e.data)} does not fit engine ${String(engine)}`, `${String(engine)} modes: ${allowed.join(', ')}`);
      }
      return diagnostic('DBT2004', doc.file, at(path), `${where} is ${describe(e.data)}; allowed: ${allowed.join(', ')}`);
    }
    case 'pattern': {
      const text = PATTERN_TEXT[String(p.pattern)] ?? `text matching ${String(p.pattern)}`;
      if (e.propertyName !== undefined) {
        return diagnostic('DBT2005', doc.file, at([...path, e.propertyName]), `key "${e.propertyName}" in ${where} must be ${text}`);
      }
      return diagnostic('DBT2005', doc.file, at(path), `${where} is ${describe(e.data)}; it must be ${text}`, desc ? `${where}: ${desc}` : undefined);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const code = rangeCode(path, e.keyword);
      return diagnostic(code, doc.file, at(path), `${where} is ${String(e.data)}; it must be ${String(p.comparison)} ${String(p.limit)}`, code === 'DBT2006' && desc ? `${where}: ${desc}` : undefined);
    }
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties': {
      const unit = e.keyword.endsWith('Length') ? 'characters' : e.keyword.endsWith('Items') ? 'items' : 'fields';
      const bound = e.keyword.startsWith('min') ? 'at least' : 'at most';
      const extra = e.propertyName !== undefined ? ` (key "${e.propertyName}")` : '';
      return diagnostic('DBT2007', doc.file, at(e.propertyName !== undefined ? [...path, e.propertyName] : path), `${where}${extra} must have ${bound} ${String(p.limit)} ${unit}`, desc ? `${where}: ${desc}` : undefined);
    }
    case 'uniqueItems':
      return diagnostic('DBT2008', doc.file, at([...path, Number(p.i)]), `${where} lists the same item twice (items ${String(p.j)} and ${String(p.i)})`);
    default:
      return diagnostic('DBT2099', doc.file, at(path), `${where} ${e.message ?? 'is invalid'}`);
  }
}
