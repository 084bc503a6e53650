// Step 1 of the compile pipeline (pipeline.ts): the repository's files → the validated
// repository. The environment files first, then the topology files in path order, in chunks, so
// that a renderer can start on a chunk's valid topologies while later ones are still being parsed
// (the worker pool does), and a topology file whose validation is already known (the state of an
// earlier compile, a watch loop's or a plan's cache) is taken as it was instead of being parsed
// again. Whatever is known or streamed, the result and its diagnostics are validate()'s exactly.
import type { Environment, Topology } from '../../schemas/types/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { parseSources, sourceKind, type Located, type SourceFile } from '../load/index.js';
import { parseYamlFile } from '../load/yaml-file.js';
import { validate, Validator, type ValidRepo } from '../validate/index.js';
import { byString } from './select.js';
import { andThen, type KnownTopology } from './stages.js';

export type { KnownTopology } from './stages.js';

export interface ValidateHooks {
  /** The file's earlier validation, if it is known. */
  known?: (source: SourceFile) => KnownTopology | undefined;
  /** The valid environments, once, before any topology file is read (not called when they have errors). */
  environments?: (envs: ReadonlyArray<Located<Environment>>) => void;
  /**
   * Each chunk's topologies without errors so far, in file order, while later ones are still
   * read; a promise returned pauses the reading until it settles (the worker pool's replies come
   * in meanwhile).
   */
  topologies?: (valid: ReadonlyArray<Located<Topology>>) => void | Promise<void>;
}

/** Topology files read between two hand-outs of valid ones. */
const CHUNK = 50;

/** Synchronous unless the `topologies` hook pauses it. */
export function validateSources(sources: readonly SourceFile[], hooks: ValidateHooks = {}): ValidRepo | Promise<ValidRepo> {
  const envLoad = parseSources(sources.filter((s) => sourceKind(s.path) === 'environment'));
  const validator = new Validator(envLoad.environments, envLoad.diagnostics);
  // Broken or missing environments: nothing renders, and validate() words the problems.
  if (envLoad.environments.length === 0 || validator.environmentErrors()) return validate(parseSources([...sources]));
  hooks.environments?.(validator.environments());
  const topologySources = sources.filter((s) => sourceKind(s.path) === 'topology').sort((a, b) => byString(a.path, b.path));
  const chunk = (i: number): ValidRepo | Promise<ValidRepo> => {
    if (i >= topologySources.length) return validator.finish();
    const valid: Array<Located<Topology>> = [];
    let unknown: SourceFile[] = [];
    const parseUnknown = (): void => {
      if (unknown.length === 0) return;
      const load = parseSources(unknown);
      // A chunk alone has "topologies but no environment files" (DBT1111); the repository has them.
      valid.push(...validator.addTopologies(load.topologies, load.diagnostics.filter((d) => d.code !== 'DBT1111')));
      unknown = [];
    };
    for (const s of topologySources.slice(i, i + CHUNK)) {
      const known = hooks.known?.(s);
      if (known === undefined) {
        unknown.push(s);
        continue;
      }
      parseUnknown(); // the file order is the validator's order (the first file of a name owns it)
      validator.addKnown(known.located, known.diagnostics);
      if (!known.diagnostics.some((d) => d.severity === 'error')) valid.push(known.located);
    }
    parseUnknown();
    return andThen(hooks.topologies?.(valid), () => chunk(i + CHUNK));
  };
  return chunk(0);
}

/** A topology known by its validated value: the file is parsed only if a diagnostic needs a position in it. */
export function knownTopology(file: string, text: string, value: Topology): Located<Topology> {
  let locate: Located<Topology>['locate'] | undefined;
  return {
    value,
    file,
    locate(path) {
      locate ??= parseYamlFile(file, text).parsed?.locate ?? (() => ({ line: 1, col: 1 }));
      return locate(path);
    },
  };
}

/**
 * Each file's diagnostics as a KnownTopology keeps them: DBT3070 left out, as the checks across
 * files run again on a known file.
 */
export function knownDiagnosticsByFile(diagnostics: readonly Diagnostic[]): Map<string, Diagnostic[]> {
  const byFile = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    if (d.code === 'DBT3070') continue;
    const list = byFile.get(d.file) ?? [];
    list.push(d);
    byFile.set(d.file, list);
  }
  return byFile;
}
