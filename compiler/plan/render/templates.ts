// Finds ci/templates/ of the installed dbtopo, from source (compiler/plan/render) or from the
// build (dist/compiler/plan/render), so the comment templates are plain files users can read.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const COMMENT_TEMPLATE = 'plan-comment.md.hbs';

export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'ci', 'templates');
    if (existsSync(join(candidate, COMMENT_TEMPLATE))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find ci/templates/${COMMENT_TEMPLATE} above ${fileURLToPath(import.meta.url)}; reinstall dbtopo`);
}
