// The one catalogue of what the controller tells people: the reason of every Event it writes and
// every condition type in the status of its objects, each with what it means. The controller can
// only emit a reason listed here (EventRecorder.emit takes an EventReason), and the CLI reads the
// same names (`dbtopo switchover` waits on SwitchoverFailed, `dbtopo status` shows the switchover
// record), so the two cannot drift apart again: the CLI once waited for a SwitchoverFailed
// condition the controller never wrote.
// Adding an Event reason or a condition type: add it here first; docs/controller.md lists them.

/** Reasons of the Events the controller writes (events.k8s.io/v1 `reason`). */
export const EVENT_REASONS = {
  SuccessfulCreate: 'a pod or PVC of the InstanceSet was created',
  SuccessfulDelete: 'a pod or PVC was deleted (scale in, offline instance, whenScaled: Delete)',
  Bootstrap: 'a new set had no primary: its lowest ordinal was made the primary',
  Wired: 'a replica was made to replicate from the primary',
  RoleChanged: "a pod's role label was set from what its engine reports",
  SplitBrain: 'two engines claimed primary: all but one were demoted in the engine',
  Failover: 'MariaDB: the primary was lost for failureThreshold probes and a replica was promoted',
  Fenced: 'MariaDB: a server that replicated from nobody was made read-only and a replica of the primary',
  SemiSync: 'MariaDB: the semi-sync primary side was switched on on the primary or off on a secondary',
  WaitingForSentinel: 'Sentinel: a server reports primary that carries no label, that nobody replicates from and whose address Sentinel does not name (a primary recreated at a new address): it is not labelled primary while Sentinel fails over',
  Monitor: 'a Sentinel was made to monitor a shard at its current primary',
  Unelectable: 'Sentinel: replica-priority 0 on a replica that does not replicate from the primary',
  Electable: "Sentinel: a replica's replica-priority was restored once it replicates again",
  RollingUpdate: 'an outdated pod is being replaced by one at the update revision',
  UpdateWaiting: 'the rolling update waits (for replication, readiness, a promotable secondary)',
  Switchover: 'a switchover started (or was not needed)',
  SwitchoverDone: 'a switchover finished: the primary moved',
  SwitchoverFailed: 'a switchover failed or could not start; status.switchover has the reason',
  PrimaryAdopted: 'federation manager: an engine already was the established primary of a spread shard and was recorded as its primary, no engine touched',
  WaitingForFederation: 'a shard spread over member clusters: this member cluster never promotes or hands over its primary on its own, nor removes a pod that left spec before the federation manager releases it',
  Released: 'federation manager: a pod that left its member cluster\'s spec was released (the pod replacing it elsewhere is synced and it is not the primary)',
} as const;
export type EventReason = keyof typeof EVENT_REASONS;

/** Condition types in InstanceSet and Cluster status. */
export const CONDITION_TYPES = {
  Ready: 'every desired pod exists and is Ready (Cluster: every component InstanceSet is Ready)',
  Updated: 'False while pods are not at the update revision, with what the rollout waits for',
  Primary: 'spread shards: whether a pod in this member cluster is primary, and why not',
  Paused: 'spec.paused is set: pods are not changed',
  SwitchoverFailed: 'True when the last switchover failed (status.switchover.message says why)',
  Held: 'spread shards: pods that left spec are kept until the federation manager releases them (an ordinal moving to another member cluster)',
} as const;
export type ConditionType = keyof typeof CONDITION_TYPES;

/**
 * Phases of status.switchover, the durable record of the last switchover of an InstanceSet:
 * Requested (intent: the update step or a user asked; the role loop carries it out), Running (the
 * role loop touches the engines), then Succeeded or Failed.
 */
export const SWITCHOVER_PHASES = ['Requested', 'Running', 'Succeeded', 'Failed'] as const;
export type SwitchoverPhase = (typeof SWITCHOVER_PHASES)[number];
