// A JSON-like value as a Lua 5.1 table constructor, the shape Argo CD hands a health script
// (objects → tables with string keys, lists → 1-based arrays, null → nil).

export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as a Lua number`);
    return String(v);
  }
  if (typeof v === 'string') return luaString(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `[${luaString(k)}] = ${toLua(x)}`).join(', ')}}`;
  }
  throw new Error(`cannot write a ${typeof v} as Lua`);
}

/** A double-quoted Lua string; bytes outside printable ASCII as decimal escapes (\ddd). */
export function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte}`;
  }
  return out + '"';
}
