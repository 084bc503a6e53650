// Kubernetes resource quantities ("10Gi", "500M", "1.5e3") as numbers, precise enough to order
// storage sizes; the compiler validates the syntax, so an unparseable string is a caller bug.
const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export function parseQuantity(q: string): number | undefined {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/.exec(q.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** -1, 0, 1 like a comparator; undefined when either side is not a quantity. */
export function compareQuantities(a: unknown, b: unknown): number | undefined {
  const x = typeof a === 'string' ? parseQuantity(a) : typeof a === 'number' ? a : undefined;
  const y = typeof b === 'string' ? parseQuantity(b) : typeof b === 'number' ? b : undefined;
  if (x === undefined || y === undefined) return undefined;
  return Math.sign(x - y);
}
