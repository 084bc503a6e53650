// Writes ci/argocd/argocd-cm-health.yaml from ci/argocd/health/ (run after editing a health.lua):
//   node dist/compiler/argocd/write-health-cm.js [repo root]
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { healthConfigMapYaml, readHealthScripts } from './health-cm.js';

const root = resolve(process.argv[2] ?? '.');
const target = join(root, 'ci/argocd/argocd-cm-health.yaml');
writeFileSync(target, healthConfigMapYaml(readHealthScripts(join(root, 'ci/argocd/health'))));
process.stdout.write(`wrote ${target}\n`);
