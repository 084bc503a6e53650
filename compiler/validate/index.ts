// compiler/validate: JSON Schema, then semantic rules, then environment policy. Every problem
// found is reported (not only the first); files with errors are left out of the result.
import type { ErrorObject } from 'ajv';
import { DNS1123_LABEL } from '../../schemas/fragments.js';
import type { Environment } from '../../schemas/types/environment.js';
import type { Topology } from '../../schemas/types/topology.js';
import type { Code } from '../diagnostics/codes.js';
import { dedupeDiagnostics, diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import type { Located, LoadResult } from '../load/index.js';
import { proxyImage, serverImage } from '../resolve/images.js';
import { renderNamespace } from '../resolve/namespace.js';
import { applyOverride, overrideSource } from '../resolve/override.js';
import { validators } from './ajv.js';
import { checkEnvironment, imageAllowed, imageRegistryPath } from './environment-rules.js';
import { MAX_NAME } from './names.js';
import type { Path } from './paths.js';
import { checkPolicy } from './policy.js';
import { pruneInvalid } from './prune.js';
import { schemaDiagnostics } from './schema-errors.js';
import { checkTopology, type Report } from './topology-rules.js';

export interface ValidRepo {
  topologies: Located<Topology>[];
  environments: Located<Environment>[];
  diagnostics: Diagnostic[];
}

export function validate(load: LoadResult): ValidRepo {
  const v = new Validator(load.environments, load.diagnostics);
  v.addTopologies(load.topologies, []);
  return v.finish();
}

/**
 * validate() in steps, for a compile that renders topologies while it still parses others
 * (compiler/parallel): the environments first, then topologies in file order, chunk by chunk,
 * then the checks over all topologies. The diagnostics and the result are validate()'s exactly.
 */
export class Validator {
  // Kept apart and joined in validate()'s order, so the (stable) sort sees the same input.
  private readonly loadDiags: Diagnostic[];
  private readonly envDiags: Diagnostic[] = [];
  private readonly topoDiags: Diagnostic[] = [];
  private readonly envs: Located<Environment>[] = [];
  private readonly knownEnvNames = new Set<string>();
  private readonly envByName: Map<string, Environment>;
  private readonly topoFirstFile = new Map<string, string>();
  private readonly topos: Located<Topology>[] = [];

  /** `loadDiagnostics`: the loader's diagnostics of the environment files (or of every file). */
  constructor(environments: ReadonlyArray<Located<unknown>>, loadDiagnostics: ReadonlyArray<Diagnostic>) {
    this.loadDiags = [...loadDiagnostics];
    // Environments first: topologies are checked against them.
    const { environment: envSchema } = validators();
    const envFirstFile = new Map<string, string>();
    for (const doc of environments) {
      const name = (doc.value as { name?: unknown }).name;
      if (typeof name === 'string') this.knownEnvNames.add(name);
      if (!envSchema(doc.value)) {
        this.envDiags.push(...schemaDiagnostics(doc, envSchema.errors ?? []));
        continue;
      }
      const env = doc as Located<Environment>;
      const first = envFirstFile.get(env.value.name);
      if (first) {
        reporter(this.envDiags, doc)('DBT3071', ['name'], `environment "${env.value.name}" is also defined in ${first}`);
      } else {
        envFirstFile.set(env.value.name, doc.file);
      }
      checkEnvironment(env.value, doc.file, reporter(this.envDiags, doc));
      this.envs.push(env);
    }
    const validEnvs = this.envs.filter((e) => !hasErrorIn(this.loadDiags, e.file) && !hasErrorIn(this.envDiags, e.file));
    this.envByName = new Map(validEnvs.map((e) => [e.value.name, e.value]));
  }

  /** The environments without errors so far (checks over all topologies may still add some). */
  environments(): Located<Environment>[] {
    return this.envs.filter((e) => !hasErrorIn(this.loadDiags, e.file) && !hasErrorIn(this.envDiags, e.file));
  }

  /** True when the environments already have errors. */
  environmentErrors(): boolean {
    return hasErrors(this.envDiags) || this.envs.some((e) => hasErrorIn(this.loadDiags, e.file));
  }

  /**
   * Checks the next topologies (file order, after every one added before) with the loader's
   * diagnostics of their files; returns those without errors so far.
   */
  addTopologies(docs: ReadonlyArray<Located<unknown>>, loadDiagnostics: ReadonlyArray<Diagnostic>): Located<Topology>[] {
    this.loadDiags.push(...loadDiagnostics);
    const { topology: topoSchema } = validators();
    const diags = this.topoDiags;
    const from = diags.length;
    const added: Located<Topology>[] = [];
    for (const doc of docs) {
      if (!topoSchema(doc.value)) {
        const errors = [...(topoSchema.errors ?? [])];
        diags.push(...schemaDiagnostics(doc, errors));
        checkPruned(doc, errors, reporter(diags, doc));
        continue;
      }
      const loc = doc as Located<Topology>;
      const t = loc.value;
      const report = reporter(diags, doc);
      const first = this.topoFirstFile.get(t.name);
      if (first) report('DBT3070', ['name'], `topology "${t.name}" is also defined in ${first}`);
      else this.topoFirstFile.set(t.name, doc.file);

      const baseFindings = new Set<string>();
      checkTopology(t, (code, path, message, hint) => {
        baseFindings.add(key(code, path));
        report(code, path, message, hint);
      });
      checkEnvironmentRefs(t, this.knownEnvNames, report);
      for (const envName of deployedTo(t, this.knownEnvNames)) {
        const env = this.envByName.get(envName);
        if (env) checkInEnvironment(t, env, baseFindings, report);
      }
      this.topos.push(loc);
      added.push(loc);
    }
    const fresh = diags.slice(from);
    return added.filter((t) => !hasErrorIn(fresh, t.file) && !hasErrorIn(loadDiagnostics, t.file));
  }

  /**
   * A topology an earlier compile validated against the same environment files, with the same
   * text (compiler/reuse.ts): its load and validation diagnostics then (DBT3070 left out), and the
   * duplicate-name check again, as addTopologies() would run it at this point of the file order.
   */
  addKnown(loc: Located<Topology>, diagnostics: ReadonlyArray<Diagnostic>): void {
    const first = this.topoFirstFile.get(loc.value.name);
    if (first) reporter(this.topoDiags, loc)('DBT3070', ['name'], `topology "${loc.value.name}" is also defined in ${first}`);
    else this.topoFirstFile.set(loc.value.name, loc.file);
    this.topoDiags.push(...diagnostics);
    this.topos.push(loc);
  }

  finish(): ValidRepo {
    const imageDiags: Diagnostic[] = [];
    for (const env of this.envs) checkDefaultImages(env, this.topos, this.knownEnvNames, reporter(imageDiags, env));
    const all = sortDiagnostics(dedupeDiagnostics([...this.loadDiags, ...this.envDiags, ...this.topoDiags, ...imageDiags]));
    return {
      environments: this.envs.filter((e) => !hasErrorIn(all, e.file)),
      topologies: this.topos.filter((t) => !hasErrorIn(all, t.file)),
      diagnostics: all,
    };
  }
}

function reporter(into: Diagnostic[], doc: Located<unknown>): Report {
  return (code, path, message, hint) => into.push(diagnostic(code, doc.file, doc.locate(path), message, hint));
}

/** Rules that fire on an absent field: after pruning, the absence may be ours, not the author's. */
const ABSENCE_RULES: ReadonlySet<Code> = new Set(['DBT3012', 'DBT3023', 'DBT3031', 'DBT3050']);

/**
 * Semantic rules on a schema-invalid topology, with the invalid fields cut out, when what is left
 * is valid. Only the base topology is checked: environment views and policy would judge values
 * the author did not write (an invalid override falls back to the base).
 */
function checkPruned(doc: Located<unknown>, errors: ReadonlyArray<ErrorObject>, report: Report): void {
  const pruned = pruneInvalid(doc.value, errors);
  if (!validators().topology(pruned)) return;
  checkTopology(pruned as Topology, (code, path, message, hint) => {
    if (!ABSENCE_RULES.has(code)) report(code, path, message, hint);
  });
}

/** Environments a topology is deployed to: its list, or all environments of the repo. */
export function deployedTo(t: Topology, envNames: ReadonlySet<string>): string[] {
  return (t.environments ?? [...envNames]).filter((e) => envNames.has(e)).sort();
}

function checkEnvironmentRefs(t: Topology, envNames: ReadonlySet<string>, report: Report): void {
  const known = [...envNames].sort().join(', ') || 'none';
  (t.environments ?? []).forEach((e, i) => {
    if (!envNames.has(e)) report('DBT3081', ['environments', i], `environment "${e}" does not exist (known: ${known})`);
  });
  for (const e of Object.keys(t.overrides ?? {})) {
    if (!envNames.has(e)) report('DBT3080', ['overrides', e], `overrides name environment "${e}", which does not exist (known: ${known})`);
    else if (t.environments && !t.environments.includes(e)) report('DBT3082', ['overrides', e], `overrides.${e} is never used: the topology is not deployed to ${e}`);
  }
}

/** The topology as `env` sees it: semantic rules again (overrides can break them), placement, policy. */
function checkInEnvironment(t: Topology, env: Environment, baseFindings: ReadonlySet<string>, report: Report): void {
  const eff = applyOverride(t, env.name);
  const fromOverride = (path: Path) => overrideSource(t, env.name, path);
  const envReport: Report = (code, path, message, hint) => {
    const src = fromOverride(path);
    // A finding the base file already produced at the same place is not news in every environment.
    if (src[0] !== 'overrides' && baseFindings.has(key(code, path))) return;
    report(code, src, message.includes(`environment ${env.name}`) ? message : `${message} (environment ${env.name})`, hint);
  };
  checkTopology(eff, envReport);

  const clusters = new Map(env.memberClusters.map((m) => [m.name, m]));
  const chosen = eff.placement?.memberClusters;
  (chosen ?? []).forEach((mc, i) => {
    if (!clusters.has(mc)) {
      envReport('DBT3090', ['placement', 'memberClusters', i], `member cluster "${mc}" is not in environment ${env.name} (it has ${[...clusters.keys()].join(', ')})`);
    }
  });
  const candidates = env.memberClusters.filter((m) => !chosen || chosen.includes(m.name));
  if (eff.placement?.zoneSpread && candidates.length > 0 && candidates.every((m) => m.zones.length < 2)) {
    envReport('DBT3092', ['placement', 'zoneSpread'], `zone spread in environment ${env.name}, but ${candidates.map((m) => `${m.name} has one zone`).join(', ')}`);
  }
  const zones = new Set(
    env.memberClusters.filter((m) => !chosen || chosen.includes(m.name)).flatMap((m) => m.zones),
  );
  (eff.instances ?? []).forEach((inst, i) => {
    if (inst.zone !== undefined && !zones.has(inst.zone)) {
      envReport('DBT3091', ['instances', i, 'zone'], `zone "${inst.zone}" is not offered by environment ${env.name} (zones: ${[...zones].sort().join(', ')})`);
    }
  });
  if (env.namespace.includes('{team}') && !eff.team && !eff.namespace) {
    envReport('DBT3123', ['name'], `environment ${env.name} names namespaces "${env.namespace}" but the topology sets no team`);
  } else if (!eff.namespace) {
    const ns = renderNamespace(env.namespace, { topology: eff.name, team: eff.team ?? '', env: env.name, engine: eff.engine });
    if (ns.length > MAX_NAME || !new RegExp(DNS1123_LABEL).test(ns)) {
      envReport('DBT3124', [eff.team ? 'team' : 'name'], `environment ${env.name}'s namespace rule "${env.namespace}" gives "${ns}" (${ns.length} characters), not a valid namespace`);
    }
  }
  checkPolicy(eff, env, envReport);
}

/**
 * With policy.allowedImageRegistries, a component whose image the environment leaves unset gets
 * the upstream image (docker.io); that is a policy error as soon as a topology there needs it.
 * Images the environment does set are checked with the environment itself.
 */
function checkDefaultImages(env: Located<Environment>, topos: ReadonlyArray<Located<Topology>>, envNames: ReadonlySet<string>, report: Report): void {
  const registries = env.value.policy?.allowedImageRegistries;
  if (!registries) return;
  const users = new Map<'redis' | 'mysql' | 'twemproxy' | 'haproxy', { image: string; topologies: string[] }>();
  const use = (component: 'redis' | 'mysql' | 'twemproxy' | 'haproxy', image: string, topology: string) => {
    if (env.value.defaults?.images?.[component] !== undefined) return;
    const entry = users.get(component) ?? { image, topologies: [] };
    entry.topologies.push(topology);
    users.set(component, entry);
  };
  for (const { value: t } of topos) {
    if (!deployedTo(t, envNames).includes(env.value.name)) continue;
    const eff = applyOverride(t, env.value.name);
    use(eff.engine, serverImage(eff.engine, eff.version, env.value.defaults), eff.name);
    if (eff.proxy) {
      const kind = eff.proxy.kind ?? (eff.engine === 'redis' ? 'twemproxy' : 'haproxy');
      use(kind, proxyImage(kind, env.value.defaults), eff.name);
    }
  }
  for (const [component, { image, topologies }] of users) {
    if (imageAllowed(image, registries)) continue;
    report('DBT4009', ['defaults', 'images', component], `defaults.images.${component} is not set, so ${topologies.join(', ')} would pull ${image} from ${imageRegistryPath(image)}, which policy.allowedImageRegistries does not allow`, `set defaults.images.${component} to an image in ${registries.join(' or ')}`);
  }
}

function key(code: Code, path: Path): string {
  return `${code}|${path.join('/')}`;
}

function hasErrorIn(ds: ReadonlyArray<Diagnostic>, file: string): boolean {
  return ds.some((d) => d.file === file && d.severity === 'error');
}
