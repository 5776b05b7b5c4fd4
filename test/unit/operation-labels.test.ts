// The `operation` label of the metrics: bounded whatever clients send (src/observability/operation-labels.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationLabels, OTHER_OPERATION, WEB_APP_OPERATIONS } from '../../src/observability/operation-labels';
import { projectRoot } from '../../src/common/project-paths';

describe('OperationLabels', () => {
  it('knows every operation of the web app, and only those', () => {
    const source = readFileSync(join(projectRoot, 'web', 'src', 'api', 'operations.ts'), 'utf8');
    const names = [...source.matchAll(/\b(?:query|mutation|subscription)\s+([_A-Za-z]\w*)/g)].map((m) => m[1]!);
    expect([...WEB_APP_OPERATIONS].sort()).toEqual([...new Set(names)].sort());
  });

  it("keeps the first names of authenticated callers up to its limit, then answers `other`; the web app's always keep theirs", () => {
    const labels = new OperationLabels(3);
    expect(labels.label(null, true)).toBe('anonymous');
    expect(labels.label('Mine', false)).toBe(OTHER_OPERATION);
    expect(['A', 'B', 'C', 'D'].map((name) => labels.label(name, true))).toEqual(['A', 'B', 'C', OTHER_OPERATION]);
    expect(labels.label('A', false)).toBe('A');
    expect(labels.label('Catalog', false)).toBe('Catalog');
  });

  it('never keeps a name that is not a short GraphQL name', () => {
    const labels = new OperationLabels(10);
    for (const name of ['x'.repeat(65), 'a b', 'a"b', '1a', 'é']) expect(labels.label(name, true)).toBe(OTHER_OPERATION);
    expect(labels.label('x'.repeat(64), true)).toBe('x'.repeat(64));
  });
});
