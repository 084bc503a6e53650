// The catalogue of Event reasons and condition types (schemas/types/events.ts) is the one list:
// docs/controller.md lists each of them, and the controller's sources use no reason outside it
// (EventRecorder.emit takes an EventReason; this also catches a reason built as a string).
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONDITION_TYPES, EVENT_REASONS } from '../../schemas/types/events.js';

const ROOT = resolve(import.meta.dirname, '../..');
const doc = readFileSync(join(ROOT, 'docs/controller.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('the Event and condition catalogue', () => {
  it('docs/controller.md lists every Event reason and condition type', () => {
    for (const k of [...Object.keys(EVENT_REASONS), ...Object.keys(CONDITION_TYPES)]) expect(doc, k).toContain(`| \`${k}\` |`);
  });

  it("every reason the controller emits is in the catalogue, and every catalogued reason is emitted", () => {
    const text = sources(join(ROOT, 'controller')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const emitted = new Set([...text.matchAll(/emit\([^,]+, '(?:Normal|Warning)', '(\w+)'/g), ...text.matchAll(/reason: '(\w+)'/g)].map((m) => m[1] ?? ''));
    // reason: '…' also matches decision reasons in prose; keep only CamelCase words
    const camel = [...emitted].filter((r) => /^[A-Z][A-Za-z]+$/.test(r));
    for (const r of camel) expect(Object.keys(EVENT_REASONS), r).toContain(r);
    for (const r of Object.keys(EVENT_REASONS)) expect(text, r).toContain(`'${r}'`);
  });
});
