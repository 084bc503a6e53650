// The compiled JSON Schema validators, built once per process. Compiling the two schemas with
// Ajv cost ~0.3–0.7 s of CPU in every fresh `dbtopo` process (more than validating a 1,000-topology
// repository), so the code Ajv generates (its standalone mode, same options, so the same errors
// with the same schema objects) is kept in a cache file keyed by the schemas and the Ajv version,
// and later processes only evaluate it. Any problem with the cache: compiled as before.
//
// Ajv itself (its compiler and standalone code generator, ~85 modules) is required only on a
// cache miss: the generated code needs only its runtime helpers, and loading the whole library
// was 50–55 ms of the main thread of every fresh `dbtopo compile`, before any file was parsed
// (importing this module and making the validators: 89 → 35 ms, `dbtopo --help` 0.22 → 0.15 s;
// min of 10 runs at load 9).
import { hash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { topologySchema } from '../../schemas/topology.schema.js';

type Validators = { topology: ValidateFunction; environment: ValidateFunction };
let cached: Validators | undefined;

const require = createRequire(import.meta.url);
const OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true, verbose: true } as const;

function cacheFile(): string {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  const key = hash('sha256', JSON.stringify([ajvVersion, OPTIONS, topologySchema, environmentSchema]), 'hex').slice(0, 24);
  const root = process.env.DBTOPO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dbtopo');
  return join(root, 'schema-validators', `${key}.cjs`);
}

/** Evaluates generated validator code as a CommonJS module whose require() resolves from here (Ajv's runtime). */
function load(code: string): Validators {
  const module = { exports: {} as Record<string, ValidateFunction> };
  new Function('module', 'exports', 'require', code)(module, module.exports, require);
  const { topology, environment } = module.exports;
  if (typeof topology !== 'function' || typeof environment !== 'function') throw new Error('incomplete validator cache');
  return { topology, environment };
}

export function validators(): Validators {
  if (cached) return cached;
  let file: string | undefined;
  try {
    file = cacheFile();
    cached = load(readFileSync(file, 'utf8'));
    return cached;
  } catch {
    // no cache yet (or unusable): compile, and keep the code for the next process
  }
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ ...OPTIONS, code: { source: true } });
  const topology = ajv.compile(topologySchema);
  const environment = ajv.compile(environmentSchema);
  cached = { topology, environment };
  if (file !== undefined) {
    try {
      const standaloneCode = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
      const code = standaloneCode(ajv, { topology: topologySchema.$id, environment: environmentSchema.$id });
      load(code); // only code that loads is kept
      mkdirSync(join(file, '..'), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, code);
      renameSync(tmp, file);
    } catch {
      // an unwritable cache: every process compiles, as before
    }
  }
  return cached;
}
