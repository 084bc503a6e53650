// The rendered-YAML writer round-trips every JSON value through the `yaml` parser, read both as
// YAML 1.1 (what Go readers such as kubectl and Argo CD use) and as YAML 1.2.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml, yamlFile } from '../../compiler/emit/yaml.js';
import { stringToYaml } from './yaml-string-writer.js';

const tricky = fc.constantFrom(
  'yes', 'No', 'on', 'OFF', 'y', 'n', '~', 'null', 'true', '', ' ', '0777', '0x1F', '1e3', '12:30', '2024-01-01', '7.2.4', '.inf',
  '-1', '+1', '- a', '---', '...', '-', '.', '--x', '-c', '.metadata.name', '-.inf', '.NaN', '.5', '-.5', '-e', '-0x1', 'a: b', 'a #b', 'a:', '#x', '&a', '*a', '!t', '|', '>', '%x', '@x', '`x', '"q"', "'q'", '[a]', '{a}', '? a',
  'line1\nline2\n', 'a\n\nb', 'a\n', '\nlead', ' lead\nx', 'x\n  indented\n', 'tab\there\n', 'trail \nx', 'a\n\n', 'ünï\ncode', 'x\r\ny', '  \nx',
);
const str = fc.oneof(tricky, fc.string(), fc.string({ unit: fc.constantFrom('a', ' ', '\n', ':', '#', '-', '0', '.', 'y', '\t') }));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 4 }),
  obj: fc.dictionary(str, tie('value'), { maxKeys: 4 }),
})).value;

describe('toYaml', () => {
  it('round-trips JSON values under YAML 1.1 and 1.2', () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = toYaml(v);
        expect(text.endsWith('\n')).toBe(true);
        expect(parse(text, { version: '1.1' })).toEqual(v);
        expect(parse(text, { version: '1.2' })).toEqual(v);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('sorts map keys, keeps array order, writes config files as literal blocks', () => {
    expect(toYaml({ b: 1, a: [3, 1, 2], c: { z: 'x', y: 'conf\nline\n' } })).toBe(
      'a:\n  - 3\n  - 1\n  - 2\nb: 1\nc:\n  "y": |\n    conf\n    line\n  z: x\n',
    );
    expect(toYaml({ list: [{ b: 1, a: 2 }], g: {}, f: [] })).toBe('f: []\ng: {}\nlist:\n  - a: 2\n    b: 1\n');
  });

  // The writer puts bytes into a reused buffer (emit/yaml.ts): the same text as the string writer
  // before it, for every value, including what the compile's objects rarely hold (undefined
  // members, long and non-ASCII strings, numbers of every kind, one shape's keys in another order).
  const anyString = fc.oneof(str, fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ minLength: 60, maxLength: 200 }));
  const keyOf = fc.oneof(fc.constantFrom('name', 'kind', 'spec', 'a', 'b', 'labels', 'e1', 'yes', 'Zz', 'ä'), anyString);
  const wide = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      anyString,
      fc.integer(),
      fc.integer({ min: 0, max: 200_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      tie('arr'),
      tie('obj'),
    ),
    arr: fc.array(tie('value'), { maxLength: 4 }),
    obj: fc.dictionary(keyOf, tie('value'), { maxKeys: 5 }),
  })).value;

  it('writes the text the string writer before it wrote', () => {
    fc.assert(
      fc.property(fc.array(wide, { maxLength: 4 }), (values) => {
        for (const v of values) expect(toYaml(v)).toBe(stringToYaml(v));
        expect(Buffer.from(yamlFile(values)).toString('utf8')).toBe(values.map(stringToYaml).join('---\n'));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  it('sorts the keys of each object, whatever order objects of a similar shape came in', () => {
    const objects = [{ name: 1, b: 2, a: 3 }, { name: 1, a: 3, b: 2 }, { name: 1, d: 2, c: 3 }, { name: 1, b: 2 }, { name: 1, b: 2, a: 3, c: undefined }, { name: 1, b: 2, c: 3 }];
    for (const o of objects) expect(toYaml(o)).toBe(stringToYaml(o));
    expect(toYaml({ a: { x: undefined }, b: [{ y: undefined }, 1, [{ z: undefined }]], c: 1 })).toBe(stringToYaml({ a: { x: undefined }, b: [{ y: undefined }, 1, [{ z: undefined }]], c: 1 }));
  });
});
