// A directory's entries with their types, or none when the directory is not there (a tree being
// removed may lose a part to another worker at any moment).
import { readdirSync, type Dirent } from 'node:fs';

export function entriesOrNone(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
