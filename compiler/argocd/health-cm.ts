// The argocd-cm entries that install dbtopo's Lua health checks in Argo CD
// (resource.customizations.health.<group>_<kind>), generated from ci/argocd/health/ so the
// tested .lua files and the installed snippet can never differ.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface HealthScript {
  group: string;
  kind: string;
  lua: string;
}

/** ci/argocd/health/<group>/<kind>/health.lua, sorted. */
export function readHealthScripts(dir: string): HealthScript[] {
  const out: HealthScript[] = [];
  for (const group of readdirSync(dir).sort()) {
    for (const kind of readdirSync(join(dir, group)).sort()) {
      out.push({ group, kind, lua: readFileSync(join(dir, group, kind, 'health.lua'), 'utf8') });
    }
  }
  return out;
}

export function healthConfigMapYaml(scripts: ReadonlyArray<HealthScript>): string {
  const data: Record<string, string> = {};
  for (const s of scripts) data[`resource.customizations.health.${s.group}_${s.kind}`] = s.lua;
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' } },
    data,
  };
  return (
    '# Generated from ci/argocd/health/*/*/health.lua by `node dist/compiler/argocd/write-health-cm.js`; do not edit.\n' +
    '# Merge into Argo CD: kubectl -n argocd patch configmap argocd-cm --type merge --patch-file ci/argocd/argocd-cm-health.yaml\n' +
    stringify(cm, { lineWidth: 0, blockQuote: 'literal' })
  );
}
