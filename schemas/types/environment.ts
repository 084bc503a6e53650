// An environment file (environments/envs/<name>.yaml): where and under which rules topologies run.
// Derived from the JSON Schema in schemas/environment.schema.ts, the one place a field is added or
// changed; the names below are views into the derived type.

import type { FromSchema } from 'json-schema-to-ts';
import type { environmentSchema } from '../environment.schema.js';

export interface Environment extends FromSchema<typeof environmentSchema> {}

export type MemberCluster = Environment['memberClusters'][number];
export type EnvironmentDefaults = NonNullable<Environment['defaults']>;
export type EnvironmentPolicy = NonNullable<Environment['policy']>;
/** The admission guard's identities (docs/guard.md); every field has a default. */
export type EnvironmentGuard = NonNullable<Environment['guard']>;
