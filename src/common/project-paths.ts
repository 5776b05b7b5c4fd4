// Locations inside the project (the root, migrations, the GraphQL schema), valid whether code runs from src/ (tsx, jest) or dist/src/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'prisma'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${start}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(__dirname);
export const migrationsDir = join(projectRoot, 'prisma', 'migrations');
export const schemaPath = join(projectRoot, 'schema.graphql');
