// A check across environments: two environments with spread topologies must not sync their
// Federation objects to one federation API server. Each renders the Federation CRD (and its
// namespaces) into rendered/<env>/_federation/, and Argo CD refuses a resource two Applications
// render (FailOnSharedResource): the second environment's federation Application would never sync.
import type { Environment } from '../../schemas/types/index.js';
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import type { Located } from '../load/index.js';
import { federationDestination, sameDestination } from './objects.js';

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
