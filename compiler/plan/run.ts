// `dbtopo plan` without the CLI: read both sides (Git refs, or the work tree for head), compile
// them in memory, and build the plan. The only I/O is reading sources; nothing is written.
import type { Environment } from '../../schemas/types/index.js';
import { compileModel } from '../compile.js';
import { wholeFile, type RenderedFile } from '../pipeline/rendered-file.js';
import { hasErrors, type Diagnostic } from '../diagnostics.js';
import { parseSources, readRepo, sourceKind, type SourceFile } from '../load/index.js';
import { validate } from '../validate/index.js';
import { memberOrder as memberOrderOf } from '../rollout/order.js';
import { readFile } from 'node:fs/promises';
import { readRenders } from '../emit/state.js';
import { join } from 'node:path';
import { ACKNOWLEDGEMENTS_FILE, parseAcknowledgements } from './acknowledgements.js';
import { instanceSetsOf, SharedRenderCache, type CompiledFiles } from './compile-sides.js';
import { readSourcesAt } from './git-sources.js';
import type { Plan, PlanObject } from './model.js';
import { buildPlan, planExitCode, type PlanOptions } from './plan.js';

export interface PlanRequest {
  /** GitOps repo root (may be a sub-directory of the Git work tree). */
  repo: string;
  base: string;
  /** Undefined: the work tree as it is, uncommitted edits included. */
  head?: string;
  env?: string;
  allowMigration: boolean;
  /** `--allow-delete <topology>` names, added to the head's acknowledgements.yaml. */
  allowDelete: string[];
}

export interface PlanSide {
  ref: string;
  /** Commit id; undefined for the work tree. */
  commit?: string;
  diagnostics: Diagnostic[];
}

export interface PlanRun {
  base: PlanSide;
  head: PlanSide;
  /** Undefined when either side failed to compile. */
  plan?: Plan;
  /** 0 plan without forbidden changes, 1 compile errors on either side, 4 forbidden changes. */
  exitCode: 0 | 1 | 4;
}

export interface CompiledSide {
  objects: PlanObject[];
  environments: Environment[];
  diagnostics: Diagnostic[];
}

/** Pure: source files → rendered objects placed in (env, member cluster, topology). */
export function compileSide(files: SourceFile[], env?: string): CompiledSide {
  const repo = validate(parseSources(files));
  const result = compileModel(repo, env !== undefined ? { env } : {});
  return {
    objects: result.files.map(toPlanObject),
    environments: repo.environments.map((e) => e.value),
    diagnostics: result.diagnostics,
  };
}

/**
 * The objects of `side` the diff must look at: the files of every render `other` does not share
 * (a topology unchanged between the sides is one render object on both, compile-sides.ts, and
 * cannot have changed) and the shared files. For 1,000 topologies with 5 changed that is a few
 * hundred objects instead of 62,644 per side.
 */
/** The plan between two sides compiled with one SharedRenderCache: buildPlan over what may differ. */
export function planOfSides(base: CompiledFiles, head: CompiledFiles, opts: Omit<PlanOptions, 'instanceSets'>): Plan {
  return buildPlan(differing(base, head), differing(head, base), { ...opts, instanceSets: { base: instanceSetsOf(base), head: instanceSetsOf(head) } });
}

function differing(side: CompiledFiles, other: CompiledFiles): PlanObject[] {
  const theirs = new Set(other.renders);
  const out: PlanObject[] = [];
  for (const r of side.renders) if (!theirs.has(r)) for (const f of r.files) out.push(toPlanObject(wholeFile(f)));
  for (const f of side.shared) out.push(toPlanObject(f));
  return out;
}

/** A rendered file as a plan side's object: where it is deployed, and the object. */
export function toPlanObject(f: RenderedFile): PlanObject {
  return {
    env: f.env,
    memberCluster: f.memberCluster,
    ...(f.topology !== undefined ? { topology: f.topology } : {}),
    ...(f.source !== undefined ? { source: f.source } : {}),
    object: f.object,
  };
}

export async function runPlan(req: PlanRequest): Promise<PlanRun> {
  const baseSide = await readSourcesAt(req.repo, req.base);
  const headSide =
    req.head !== undefined
      ? await readSourcesAt(req.repo, req.head)
      : { ref: '(work tree)', commit: undefined, files: await readWorkTree(req.repo) };
  // Topologies unchanged between the sides are rendered once (compile-sides.ts), or not at all
  // when the last `dbtopo compile` in this checkout recorded what they render.
  const inBase = new Set(baseSide.files.map((f) => `${f.path}\0${f.text}`));
  // Only with the same environment files on both sides: a file then renders the same on both.
  const envFiles = (fs: readonly SourceFile[]) => fs.filter((f) => sourceKind(f.path) === 'environment').map((f) => `${f.path}\0${f.text}`).join('\0');
  const sameEnvs = envFiles(baseSide.files) === envFiles(headSide.files);
  const both = new Set(sameEnvs ? headSide.files.map((f) => `${f.path}\0${f.text}`).filter((k) => inBase.has(k)) : []);
  const cache = new SharedRenderCache(readRenders(join(req.repo, 'rendered')), both);
  const base = cache.compile(baseSide.files, req.env);
  const head = cache.compile(headSide.files, req.env);
  const { acks, diagnostics: ackDiagnostics } = parseAcknowledgements(headSide.files);
  const headDiagnostics = [...head.diagnostics, ...ackDiagnostics];
  const sides = {
    base: { ref: baseSide.ref, commit: baseSide.commit, diagnostics: base.diagnostics },
    head: { ref: headSide.ref, ...(headSide.commit !== undefined ? { commit: headSide.commit } : {}), diagnostics: headDiagnostics },
  };
  if (hasErrors(base.diagnostics) || hasErrors(headDiagnostics)) return { ...sides, exitCode: 1 };
  const memberOrder = new Map<string, string[]>();
  for (const e of [...base.environments, ...head.environments]) memberOrder.set(e.name, memberOrderOf(e));
  const plan = planOfSides(base, head, {
    allowMigration: req.allowMigration,
    acknowledgements: { delete: [...acks.delete, ...req.allowDelete], migrate: acks.migrate },
    memberOrder,
  });
  return { ...sides, plan, exitCode: planExitCode(plan) };
}

async function readWorkTree(repo: string): Promise<SourceFile[]> {
  const files = await readRepo(repo);
  try {
    files.push({ path: ACKNOWLEDGEMENTS_FILE, text: await readFile(join(repo, ACKNOWLEDGEMENTS_FILE), 'utf8') });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return files;
}
