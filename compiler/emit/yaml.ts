// Deterministic YAML: map keys sorted (their order carries no meaning in Kubernetes objects),
// arrays kept in order, no line folding, YAML 1.1 quoting so that Go's YAML readers (kubectl,
// Argo CD) read "yes", "on" or "n" back as strings. Always one trailing newline.

import { stringify } from 'yaml';

export function toYaml(value: unknown): string {
  const text = stringify(value, { version: '1.1', sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false });
  return text.endsWith('\n') ? text : `${text}\n`;
}
