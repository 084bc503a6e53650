// The one place the InstanceSet reconcile writes (reconciler.ts): the steps before it only read
// (the caches, the engines) and add writes here, in the order they must happen; commit() applies
// them in that order and stops at the first that fails, and the reconciler then writes status
// whatever happened. Deletes carry the pod's or claim's uid as a precondition, so a newer object
// of the same name is never hit; a create that finds the object already there (the cache was
// behind) is success. A switchover record is this controller's intent at once (ctx.memory, where
// the next step of the same pass and the role loop read it) and is written to status in its turn.
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, type InstanceSet, type KubeObject, type SwitchoverStatus } from '../../../schemas/types/index.js';
import { keyOf, type ControllerContext } from '../../runtime/context.js';
import { KubeError, resourcePath } from '../../runtime/kube.js';
import type { ObjectRef } from './plan.js';
import { writeRecord } from './switchover-store.js';

interface Write {
  /** The step that added it and what it does, for the error in status ("remove unwanted pods and claims: delete pod db-2: …"). */
  what: string;
  apply(): Promise<void>;
}

export interface CommitFailure {
  what: string;
  err: unknown;
}

export class Commit {
  private readonly writes: Write[] = [];
  private readonly key: string;
  /** The step adding writes now (reconciler.ts sets it). */
  step = '';
  private readonly ns: string | undefined;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly is: InstanceSet,
  ) {
    this.ns = is.metadata.namespace;
    this.key = keyOf(is.metadata.namespace, is.metadata.name);
  }

  create(kind: 'Pod' | 'PersistentVolumeClaim', obj: KubeObject): void {
    const name = obj.metadata.name;
    this.add({
      what: `create ${kind === 'Pod' ? 'pod' : 'PVC'} ${name}`,
      apply: async () => {
        if (!(await this.createIgnoringExisting(resourcePath(kind, this.ns), obj))) return;
        this.ctx.log.info({ instanceSet: this.key, [kind === 'Pod' ? 'pod' : 'pvc']: name }, `created ${kind === 'Pod' ? 'pod' : 'PVC'}`);
        if (kind === 'Pod') this.ctx.events.emit(this.is, 'Normal', 'SuccessfulCreate', 'Create', `created pod ${name}`);
      },
    });
  }

  /** Deletes with the uid as precondition; `deleted` runs once the API server accepted it, `why` goes to the log and Event. */
  delete(kind: 'Pod' | 'PersistentVolumeClaim', ref: ObjectRef, why: string, opts: { event?: boolean; deleted?: () => void } = {}): void {
    const noun = kind === 'Pod' ? 'pod' : 'PVC';
    this.add({
      what: `delete ${noun} ${ref.name}`,
      apply: async () => {
        if (!(await this.ctx.client.delete(resourcePath(kind, this.ns, ref.name), ref.uid))) return;
        opts.deleted?.();
        this.ctx.log.info({ instanceSet: this.key, [kind === 'Pod' ? 'pod' : 'pvc']: ref.name }, `deleted ${noun} (${why})`);
        if (opts.event !== false) this.ctx.events.emit(this.is, 'Normal', 'SuccessfulDelete', 'Delete', `deleted ${noun} ${ref.name} (${why})`);
      },
    });
  }

  /** A switchover record: this controller's intent now, status.switchover when committed. */
  record(rec: SwitchoverStatus): void {
    this.ctx.memory.switchovers.set(this.key, rec);
    this.add({ what: `record switchover ${rec.phase}`, apply: () => writeRecord(this.ctx, this.is, rec) });
  }

  /** Removes the switchover request annotation (after the record that carries the request on). */
  consumeSwitchoverRequest(): void {
    this.add({
      what: 'remove the switchover request annotation',
      apply: async () => {
        await this.ctx.client.mergePatch(resourcePath('InstanceSet', this.ns, this.is.metadata.name), { metadata: { annotations: { [ANNOTATIONS.switchover]: null } } }, FIELD_MANAGER_CONTROLLER);
      },
    });
  }

  private add(w: Write): void {
    this.writes.push({ ...w, what: this.step !== '' ? `${this.step}: ${w.what}` : w.what });
  }

  /** Applies the writes in order; the first failure stops the rest and is returned. */
  async commit(): Promise<CommitFailure | undefined> {
    for (const w of this.writes) {
      try {
        await w.apply();
      } catch (err) {
        return { what: w.what, err };
      }
    }
    return undefined;
  }

  private async createIgnoringExisting(path: string, obj: KubeObject): Promise<boolean> {
    try {
      await this.ctx.client.create(path, obj, FIELD_MANAGER_CONTROLLER);
      return true;
    } catch (err) {
      // AlreadyExists: our cache was behind; the object is there, which is all we wanted.
      if (err instanceof KubeError && err.code === 409 && err.reason === 'AlreadyExists') return false;
      throw err;
    }
  }
}
