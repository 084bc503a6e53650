// A check across environments: two environments with spread topologies must not sync their
// Federation objects to one federation API server. Each renders the Federation CRD (and its
// namespaces) into rendered/<env>/_federation/, and Argo CD refuses a resource two Applications
// render (FailOnSharedResource): the second environment's federation Application would never sync.
import type { Environment } from '../../schemas/types/index.js';
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import type { Located } from '../load/index.js';
import { federationDestination, membersAtFederation, sameDestination } from './objects.js';

/** `federated`: names of the environments that render Federation objects. */
export function sharedFederationDiagnostics(environments: ReadonlyArray<Located<Environment>>, federated: ReadonlySet<string>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const using = environments.filter((e) => federated.has(e.value.name) && e.value.argocd !== undefined);
  using.forEach((e, i) => {
    const first = using.slice(0, i).find((o) => sameDestination(federationDestination(o.value), federationDestination(e.value)));
    if (first === undefined) return;
    const dest = federationDestination(e.value);
    const where = e.value.federation?.destination !== undefined ? ['federation', 'destination'] : ['name'];
    out.push(
      diagnostic(
        'DBT5006',
        e.file,
        e.locate(where),
        `environment ${e.value.name} syncs its Federation objects and the Federation CRD to ${dest.server ?? dest.name ?? ''}, as environment ${first.value.name} (${first.file}) does${e.value.federation?.destination === undefined ? ' (the default federation.destination)' : ''}`,
      ),
    );
  });
  return out;
}

/**
 * The federation manager runs where the federation API server is. When that is one of the
 * environment's member clusters, losing it loses the one failure detector of every spread shard
 * too: a primary lost with it is not failed over until the member cluster returns (the shard's
 * other servers stay replicas, never a second primary). A warning at federation.destination.
 */
export function federationInMemberDiagnostics(environments: ReadonlyArray<Located<Environment>>, federated: ReadonlySet<string>): Diagnostic[] {
  return environments
    .filter((e) => federated.has(e.value.name))
    .flatMap((e) => {
      const at = membersAtFederation(e.value);
      if (at.length === 0) return [];
      return [
        diagnostic(
          'DBT5011',
          e.file,
          e.locate(e.value.federation?.destination !== undefined ? ['federation', 'destination'] : ['name']),
          `the federation manager of environment ${e.value.name} runs in member cluster ${at.join(', ')}, which holds servers of spread shards: when it is lost, a spread shard whose primary was there gets no failover until it returns`,
        ),
      ];
    });
}
