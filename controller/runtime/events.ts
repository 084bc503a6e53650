// Kubernetes Events (events.k8s.io/v1) on the objects the controller changes. Best effort: an
// Event that cannot be written is logged, never retried, and never fails a reconcile.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventReason, KubeObject } from '../../schemas/types/index.js';
import { resourcePath, type KubeClient } from './kube.js';

export const REPORTING_CONTROLLER = 'dbtopo.dev/controller';

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  /** `action` is what the controller did (Create, Delete, Label, Promote…); `reason` one of the catalogue (schemas/types/events.ts). */
  emit(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, type: 'Normal' | 'Warning', reason: EventReason, action: string, note: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      eventTime: new Date().toISOString().replace('Z', '000Z'),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance,
      action,
      reason,
      type,
      note: note.slice(0, 1000),
      regarding: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: ns, uid: obj.metadata.uid },
    };
    this.client.create(resourcePath('Event', ns), body as KubeObject).catch((err: unknown) => {
      this.log.debug({ err: err instanceof Error ? err.message : String(err), reason }, 'event not recorded');
    });
  }
}
