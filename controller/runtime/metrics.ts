// Prometheus metrics of the controller, on a registry of its own (several controllers can run in
// one test process without clashing in prom-client's global registry).
import * as client from 'prom-client';

export class ControllerMetrics {
  readonly registry = new client.Registry();
  readonly reconciles: client.Counter<'controller' | 'result'>;
  readonly reconcileDuration: client.Histogram<'controller'>;
  readonly reconcileErrors: client.Counter<'controller'>;
  readonly queueDepth: client.Gauge<'queue'>;
  readonly roleChanges: client.Counter<'instanceset' | 'role'>;
  readonly apiRequests: client.Counter<'verb'>;
  readonly roleProbeRound: client.Histogram<'engine'>;
  readonly roleWatchChanges: client.Counter<'engine'>;
  readonly isLeader: client.Gauge;

  constructor(queueDepths: () => Record<string, number>) {
    const registers = [this.registry];
    this.reconciles = new client.Counter({ name: 'dbtopo_reconcile_total', help: 'Reconciles by controller and result (success, requeue, error).', labelNames: ['controller', 'result'], registers });
    this.reconcileDuration = new client.Histogram({
      name: 'dbtopo_reconcile_duration_seconds',
      help: 'Time one reconcile took.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reconcileErrors = new client.Counter({ name: 'dbtopo_reconcile_errors_total', help: 'Reconciles that failed and were retried with backoff.', labelNames: ['controller'], registers });
    this.queueDepth = new client.Gauge({
      name: 'dbtopo_workqueue_depth',
      help: 'Keys waiting in a work queue.',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const [queue, depth] of Object.entries(queueDepths())) this.set({ queue }, depth);
      },
    });
    this.roleChanges = new client.Counter({ name: 'dbtopo_role_changes_total', help: 'Role labels the controller changed on pods.', labelNames: ['instanceset', 'role'], registers });
    this.roleProbeRound = new client.Histogram({
      name: 'dbtopo_role_probe_round_seconds',
      help: 'Time one role-probe round of a server InstanceSet took: probe every pod, decide, wire, label.',
      labelNames: ['engine'],
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.roleWatchChanges = new client.Counter({ name: 'dbtopo_role_watch_changes_total', help: 'Role-watch checks that found an engine reporting another role than at its set\'s last round (and started the round at once).', labelNames: ['engine'], registers });
    this.apiRequests = new client.Counter({ name: 'dbtopo_api_requests_total', help: 'Requests sent to the Kubernetes API server, by verb.', labelNames: ['verb'], registers });
    this.isLeader = new client.Gauge({ name: 'dbtopo_leader', help: '1 while this replica holds the leader Lease (or runs without election).', registers });
    client.collectDefaultMetrics({ register: this.registry, prefix: 'dbtopo_' });
  }
}
