// The `yaml` library, loaded on first use. Most files never need it (load/simple-yaml.ts reads
// them), and loading its ~70 modules was 40–55 ms of the main thread of every fresh `dbtopo`
// process before it read a file (measured at load 9; `dbtopo plan` loads it for
// acknowledgements.yaml through this too).
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');
const require = createRequire(import.meta.url);
let lib: Yaml | undefined;

export function yamlLib(): Yaml {
  lib ??= require('yaml') as Yaml;
  return lib;
}
