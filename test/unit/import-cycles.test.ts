// The cycle finder of npm run check:imports, on small in-memory graphs, and the import reader on source text.
import { findCycles, importsOf, type ImportEdge } from '../../scripts/import-graph';

/** A graph from `a -> b` lines; `a -type-> b` is a type-only import. */
function graphOf(...lines: string[]): Map<string, ImportEdge[]> {
  const graph = new Map<string, ImportEdge[]>();
  for (const line of lines) {
    const [from, arrow, to] = line.split(' ') as [string, string, string];
    graph.set(from, [...(graph.get(from) ?? []), { to, typeOnly: arrow === '-type->' }]);
    if (!graph.has(to)) graph.set(to, []);
  }
  return graph;
}

describe('findCycles', () => {
  test('a graph without cycles has none, however often a file is reached', () => {
    expect(findCycles(graphOf('a -> b', 'a -> c', 'b -> d', 'c -> d'))).toEqual([]);
  });

  test('a cycle is listed once, in import order, from the file the search met first', () => {
    expect(findCycles(graphOf('z -> a', 'a -> b', 'b -> c', 'c -> a'))).toEqual([{ files: ['a', 'b', 'c'], throughTypeOnly: false }]);
  });

  test('a file importing itself is a cycle of one', () => {
    expect(findCycles(graphOf('a -> a'))).toEqual([{ files: ['a'], throughTypeOnly: false }]);
  });

  test('a cycle closed by a type-only import is marked, and an edge leading into it does not count', () => {
    expect(findCycles(graphOf('a -type-> b', 'b -> c', 'c -> b'))).toEqual([{ files: ['b', 'c'], throughTypeOnly: false }]);
    expect(findCycles(graphOf('a -> b', 'b -type-> a'))).toEqual([{ files: ['a', 'b'], throughTypeOnly: true }]);
  });

  test('two cycles through one file are both found', () => {
    expect(findCycles(graphOf('a -> b', 'b -> a', 'a -> c', 'c -> a'))).toEqual([
      { files: ['a', 'b'], throughTypeOnly: false },
      { files: ['a', 'c'], throughTypeOnly: false },
    ]);
  });
});

describe('importsOf', () => {
  test('relative imports, re-exports and import() of a literal; type-only when nothing survives compilation', () => {
    const text = [
      `import fs from 'node:fs';`,
      `import { a } from './a';`,
      `import type { B } from './b';`,
      `import { type C, type D } from './c';`,
      `import { type E, e } from './e';`,
      `export { f } from '../f';`,
      `export type { G } from './g';`,
      `const h = () => import('./h');`,
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { specifier: './a', typeOnly: false },
      { specifier: './b', typeOnly: true },
      { specifier: './c', typeOnly: true },
      { specifier: './e', typeOnly: false },
      { specifier: '../f', typeOnly: false },
      { specifier: './g', typeOnly: true },
      { specifier: './h', typeOnly: false },
    ]);
  });
});
