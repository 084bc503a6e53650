// The compiled JSON Schema validators, built once per process (compiling costs milliseconds,
// validating microseconds).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { topologySchema } from '../../schemas/topology.schema.js';

let cached: { topology: ValidateFunction; environment: ValidateFunction } | undefined;

export function validators(): { topology: ValidateFunction; environment: ValidateFunction } {
  if (!cached) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    cached = { topology: ajv.compile(topologySchema), environment: ajv.compile(environmentSchema) };
  }
  return cached;
}
