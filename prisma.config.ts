// Prisma CLI configuration. The CLI only needs the schema engine binary to exist for
// generate/validate/format; offline (only the npm registry reachable) its download fails,
// so point it at /bin/true for those commands. Migrations are applied by the app itself
// (src/db/migrator.ts) and created by scripts/db-migrate.mjs create (WebAssembly engine).
import { defineConfig } from 'prisma/config';

const command = process.argv.find((arg) => ['generate', 'validate', 'format'].includes(arg));
if (command && !process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/true';
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
