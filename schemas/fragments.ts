// Small schema pieces shared by the topology and environment schemas: names and quantities in
// the exact forms Kubernetes accepts, so a file that validates here never fails at apply time.

/** RFC 1123 label: what Kubernetes accepts for namespaces, label values, most object names. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1035 label: Service names must start with a letter, and Services are named after topologies. */
export const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
/** CPU quantity: whole or decimal cores ("2", "1.5") or millicores ("500m"). */
export const CPU_QUANTITY = '^([0-9]+(\\.[0-9]{1,3})?|[0-9]+m)$';
/** Memory / storage quantity: bytes with an optional binary or decimal suffix ("512Mi", "4Gi", "1G"). */
export const BYTES_QUANTITY = '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
/** Engine version: "7.2", "7.2.4", "10.11.6", optionally with a suffix ("8.0.36-1"). */
export const VERSION = '^[0-9]+(\\.[0-9]+){0,2}([-+][0-9A-Za-z.-]+)?$';
/** Kubernetes label key (optional DNS prefix, then a name). */
export const LABEL_KEY = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
/** Kubernetes label value (may be empty). */
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/** Container image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
export const IMAGE = '^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';
/** Registry prefix for image allow-lists: host[:port][/path]. */
export const REGISTRY = '^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$';
/** Engine parameter names as redis.conf and my.cnf spell them. */
/** A ServiceAccount as <namespace>/<name>. */
export const SERVICE_ACCOUNT_REF = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';

/** An IPv4 or IPv6 CIDR, as a NetworkPolicy ipBlock takes it ("10.16.0.0/14", "fd00:10::/56"). */
export const CIDR = '^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$|^[0-9a-fA-F:]+:[0-9a-fA-F:]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$';

export const PARAMETER_NAME = '^[A-Za-z][A-Za-z0-9_.-]*$';

export const MAX_REPLICAS = 100;
export const MAX_SHARDS = 64;
/** Instance templates per topology (and per InstanceSet: its CEL ordinal checks are bounded by it). */
export const MAX_INSTANCES = 32;

export const name63 = (description: string, pattern = DNS1123_LABEL) =>
  ({ type: 'string', pattern, minLength: 1, maxLength: 63, description }) as const;

export const labelMap = (description: string) =>
  ({
    type: 'object',
    description,
    propertyNames: { pattern: LABEL_KEY, maxLength: 253 },
    additionalProperties: { type: 'string', pattern: LABEL_VALUE, maxLength: 63 },
  }) as const;

export const resourcesSchema = {
  type: 'object',
  description: 'CPU and memory of each pod of this kind.',
  additionalProperties: false,
  properties: {
    cpu: { type: 'string', pattern: CPU_QUANTITY, description: 'CPU cores, e.g. "500m", "2". Must be a whole number with placement.exclusiveCpu.' },
    memory: { type: 'string', pattern: BYTES_QUANTITY, description: 'Memory, e.g. "512Mi", "4Gi".' },
  },
} as const;
