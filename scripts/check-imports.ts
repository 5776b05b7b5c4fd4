/**
 * The import graph of src/ against the architecture (issue 15's measures): imports that run
 * against the layering (boundaries/dependencies errors of ESLint with the project's config),
 * import cycles among src/ files (src/generated/ left out; type-only imports included, and the
 * cycles that pass through one counted apart) and functions over 80 lines
 * (max-lines-per-function). Lists each, then prints one JSON object as the last line. Exits 0:
 * it reports, `npm run lint` is what fails.
 *
 *   npm run check:imports
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { findCycles, readImportGraph, typeScriptFiles } from './import-graph';

const root = path.resolve(__dirname, '..');

async function lintFindings(): Promise<{ againstLayering: string[]; functionsOver80: string[] }> {
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(['src']);
  const found = (ruleId: string): string[] =>
    results.flatMap((result) =>
      result.messages
        .filter((message) => message.ruleId === ruleId)
        .map((message) => `${path.relative(root, result.filePath)}:${message.line}  ${message.message}`),
    );
  return { againstLayering: found('boundaries/dependencies'), functionsOver80: found('max-lines-per-function') };
}

async function main(): Promise<void> {
  const { againstLayering, functionsOver80 } = await lintFindings();
  const src = path.join(root, 'src');
  const graph = readImportGraph(root, typeScriptFiles(src, [path.join(src, 'generated')]));
  const cycles = findCycles(graph);

  const section = (title: string, lines: string[]): void => {
    console.log(`${title}: ${lines.length}`);
    for (const line of lines) console.log(`  ${line}`);
  };
  section('Imports against the layering', againstLayering);
  section(
    'Import cycles',
    cycles.map(
      (cycle) => `${[...cycle.files, cycle.files[0]].join(' -> ')}${cycle.throughTypeOnly ? '  (through a type-only import)' : ''}`,
    ),
  );
  section('Functions over 80 lines', functionsOver80);
  console.log(
    JSON.stringify({
      files: graph.size,
      imports: [...graph.values()].reduce((sum, edges) => sum + edges.length, 0),
      importsAgainstLayering: againstLayering.length,
      circles: cycles.map((cycle) => cycle.files),
      circlesThroughTypeOnlyImports: cycles.filter((cycle) => cycle.throughTypeOnly).length,
      functionsOver80: functionsOver80.length,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
