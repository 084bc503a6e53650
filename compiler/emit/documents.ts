// A rendered file's text from the objects that go into it (emit/paths.ts: a topology's objects in
// one member cluster share one file). Apart from write.ts so that a render worker loads only this.

export interface FileToWrite {
  path: string;
  text: string;
}

/**
 * The files of a tree from its objects: the objects that share a path (a topology's objects in one
 * member cluster, emit/paths.ts) become one file, their YAML documents in the order given, each
 * after a `---` line but the first. Paths keep the order of their first object.
 */
export function joinDocuments(objects: Iterable<FileToWrite>): FileToWrite[] {
  const texts = new Map<string, string[]>();
  for (const { path, text } of objects) {
    const list = texts.get(path);
    if (list) list.push(text);
    else texts.set(path, [text]);
  }
  const files: FileToWrite[] = [];
  for (const [path, list] of texts) files.push({ path, text: list.length === 1 ? (list[0] ?? '') : list.join('---\n') });
  return files;
}
