// Lint: typescript-eslint's recommended rules, functions of at most 80 lines in src/, and the
// layering of docs/architecture.md as import boundaries (eslint-plugin-boundaries).
// `npm run lint` checks both this and the format (prettier); CI runs it.
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

const DOMAINS = '(auth|tenants|shoppers|garments|photos|outfits|renders|webhooks|uploads)';
const type = (name) => ({ to: { element: { type: name } } });
const types = (...names) => names.map(type);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'web/src/generated/**', 'models/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts'] } },
      'boundaries/include': ['src/**/*.ts'],
      'boundaries/elements': [
        // Composition roots: one per process, over a shared platform set-up.
        { type: 'main', pattern: 'src/main/*.ts', mode: 'full' },
        // Transports: GraphQL over HTTP and WebSocket, plain HTTP routes, the demo's endpoint.
        { type: 'graphql', pattern: 'src/graphql/*.ts', mode: 'full' },
        { type: 'transport', pattern: 'src/(http|demo)/*.ts', mode: 'full' },
        // Domains: resolvers (thin) over services over repositories (the only code on tables).
        { type: 'resolvers', pattern: `src/${DOMAINS}/*-resolvers.ts`, mode: 'full', capture: ['domain'] },
        { type: 'repository', pattern: `src/${DOMAINS}/*-repository.ts`, mode: 'full', capture: ['domain'] },
        { type: 'domain', pattern: `src/${DOMAINS}/*.ts`, mode: 'full', capture: ['domain'] },
        // What resolvers share: the context type, payloads, selections.
        { type: 'resolver-kit', pattern: 'src/graphql/kit/*.ts', mode: 'full' },
        // The engine: imports nothing of the platform.
        { type: 'inference', pattern: 'src/inference/*.ts', mode: 'full' },
        { type: 'platform', pattern: 'src/(db|blobs|jobs|limits|observability|common|images)/*.ts', mode: 'full' },
        { type: 'generated', pattern: 'src/generated/**', mode: 'full' },
        { type: 'worker', pattern: 'src/worker/*.ts', mode: 'full' },
      ],
    },
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            { from: { element: { type: 'main' } }, allow: [{ to: { element: { type: '*' } } }] },
            { from: { element: { type: 'generated' } }, allow: types('generated') },
            { from: { element: { type: 'inference' } }, allow: types('inference') },
            { from: { element: { type: 'platform' } }, allow: types('platform', 'generated') },
            {
              from: { element: { type: 'repository' } },
              allow: [
                ...types('platform', 'generated'),
                { to: { element: { type: 'domain', captured: { domain: '{{ from.captured.domain }}' } } } },
              ],
            },
            {
              from: { element: { type: 'domain' } },
              allow: [
                ...types('platform', 'generated', 'inference', 'domain'),
                { to: { element: { type: 'repository', captured: { domain: '{{ from.captured.domain }}' } } } },
              ],
            },
            { from: { element: { type: 'resolver-kit' } }, allow: types('resolver-kit', 'platform', 'generated', 'domain') },
            { from: { element: { type: 'resolvers' } }, allow: types('resolver-kit', 'platform', 'generated', 'domain') },
            {
              from: { element: { type: 'graphql' } },
              allow: types('graphql', 'transport', 'resolver-kit', 'resolvers', 'domain', 'platform', 'generated'),
            },
            { from: { element: { type: 'transport' } }, allow: types('transport', 'domain', 'platform', 'generated') },
            { from: { element: { type: 'worker' } }, allow: [{ to: { element: { type: '*' } } }] },
          ],
        },
      ],
    },
  },
);
