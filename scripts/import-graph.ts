// The import graph of the project's TypeScript files, read with the TypeScript compiler API, and
// the import cycles in it (for npm run check:imports). An edge remembers whether every import
// along it is type-only: such a cycle is erased at compile time but still couples the files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** An import of one file by another; typeOnly when no import between them survives compilation. */
export interface ImportEdge {
  to: string;
  typeOnly: boolean;
}

/** Files (paths relative to the root) and what each imports among them. */
export type ImportGraph = Map<string, ImportEdge[]>;

/** Every .ts file under `dir` (recursively), skipping the folders named in `skip`. */
export function typeScriptFiles(dir: string, skip: readonly string[] = []): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return skip.includes(full) ? [] : typeScriptFiles(full, skip);
      return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
    });
}

/** The relative imports of one source text: static imports, re-exports and import() of a literal. */
export function importsOf(fileName: string, text: string): { specifier: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      // `import { type A, type B }` is erased too; a default or namespace import is not.
      const allNamedTypeOnly =
        clause !== undefined &&
        clause.name === undefined &&
        bindings !== undefined &&
        ts.isNamedImports(bindings) &&
        bindings.elements.length > 0 &&
        bindings.elements.every((element) => element.isTypeOnly);
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: clause?.isTypeOnly === true || allNamedTypeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteral(argument)) found.push({ specifier: argument.text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((entry) => entry.specifier.startsWith('.'));
}

/** The file a relative specifier names: `x`, `x.ts`, `x.js` written for `x.ts`, or `x/index.ts`. */
function resolveImport(fromFile: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const candidates = [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), path.join(base, 'index.ts')];
  return candidates.find((candidate) => candidate.endsWith('.ts') && existsSync(candidate)) ?? null;
}

/** The graph of `files` (absolute paths); edges to files outside the list are left out. */
export function readImportGraph(root: string, files: readonly string[]): ImportGraph {
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const edges = new Map<string, boolean>();
    for (const { specifier, typeOnly } of importsOf(file, readFileSync(file, 'utf8'))) {
      const target = resolveImport(file, specifier);
      if (target === null || !known.has(target)) continue;
      const to = path.relative(root, target);
      // Two imports of one file: the edge is type-only only if both are.
      edges.set(to, (edges.get(to) ?? true) && typeOnly);
    }
    graph.set(
      path.relative(root, file),
      [...edges].map(([to, typeOnly]) => ({ to, typeOnly })),
    );
  }
  return graph;
}

/** One cycle: its files in import order (the last imports the first), and whether it holds a type-only edge. */
export interface ImportCycle {
  files: string[];
  throughTypeOnly: boolean;
}

/**
 * The cycles a depth-first search meets: one per back edge (an import of a file still on the
 * search path), so every strongly connected part of the graph shows at least one. Files and
 * edges are visited in sorted order, so the answer does not depend on the order files were read.
 */
export function findCycles(graph: ReadonlyMap<string, readonly ImportEdge[]>): ImportCycle[] {
  const cycles: ImportCycle[] = [];
  const done = new Set<string>();
  const trail: { file: string; typeOnly: boolean }[] = []; // the search path; typeOnly: of the edge that led to the file
  const onPath = new Map<string, number>();
  const visit = (file: string): void => {
    onPath.set(file, trail.length - 1);
    const edges = [...(graph.get(file) ?? [])].sort((a, b) => a.to.localeCompare(b.to));
    for (const edge of edges) {
      const at = onPath.get(edge.to);
      if (at !== undefined) {
        const loop = trail.slice(at);
        cycles.push({
          files: loop.map((step) => step.file),
          throughTypeOnly: edge.typeOnly || loop.slice(1).some((step) => step.typeOnly),
        });
      } else if (!done.has(edge.to)) {
        trail.push({ file: edge.to, typeOnly: edge.typeOnly });
        visit(edge.to);
        trail.pop();
      }
    }
    onPath.delete(file);
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) {
    if (done.has(file)) continue;
    trail.push({ file, typeOnly: false });
    visit(file);
    trail.pop();
  }
  return cycles;
}
