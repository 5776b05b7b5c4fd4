// Lint: typescript-eslint's recommended rules, functions of at most 80 lines in src/, and the
// layering of docs/architecture.md as import boundaries (eslint-plugin-boundaries).
// `npm run lint` checks both this and the format (prettier); CI runs it.
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

const DOMAINS = '(auth|tenants|shoppers|garments|photos|outfits|renders|webhooks|uploads)';
// The layers, as selectors: most are an element (a folder); a domain folder holds three layers, told by file name.
const LAYERS = {
  main: { element: { type: 'main' } },
  graphql: { element: { type: 'graphql' } },
  transport: { element: { type: 'transport' } },
  'resolver-kit': { element: { type: 'resolver-kit' } },
  resolvers: { element: { type: 'domain' }, file: { categories: 'resolvers' } },
  repository: { element: { type: 'domain' }, file: { categories: 'repository' } },
  domain: { element: { type: 'domain' }, file: { categories: 'service' } },
  inference: { element: { type: 'inference' } },
  platform: { element: { type: 'platform' } },
  generated: { element: { type: 'generated' } },
};
const types = (...names) => names.map((name) => ({ to: LAYERS[name] }));
const anyElement = { to: { element: { type: '*' } } };
const sameDomain = (layer) => ({
  to: { ...LAYERS[layer], element: { type: 'domain', captured: { domain: '{{ from.element.captured.domain }}' } } },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'web/src/generated/**', 'models/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Prettier wraps code at 140; this catches the comments and other long lines it leaves.
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true }],
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
      // The files of an element are those directly in its folder (deeper ones are not checked).
      'boundaries/include': ['src/*/*.ts', 'src/graphql/kit/*.ts', 'src/generated/**'],
      // Elements are folders of src/ (matched from the root, first descriptor wins).
      'boundaries/elements': [
        // Composition roots: one per process, over a shared platform set-up.
        { type: 'main', pattern: 'src/main', partialMatch: false },
        // What resolvers share: the context type, payloads, selections (before graphql, which contains it).
        { type: 'resolver-kit', pattern: 'src/graphql/kit', partialMatch: false },
        // Transports: GraphQL over HTTP and WebSocket, plain HTTP routes, the demo's endpoint.
        { type: 'graphql', pattern: 'src/graphql', partialMatch: false },
        { type: 'transport', pattern: 'src/(http|demo)', partialMatch: false },
        // Domains: resolvers (thin) over services over repositories (the only code on tables); see the file categories.
        { type: 'domain', pattern: `src/${DOMAINS}`, partialMatch: false, capture: ['domain'] },
        // The engine: imports nothing of the platform.
        { type: 'inference', pattern: 'src/inference', partialMatch: false },
        { type: 'platform', pattern: 'src/(db|blobs|jobs|limits|observability|common|images)', partialMatch: false },
        { type: 'generated', pattern: 'src/generated', partialMatch: false },
      ],
      // The layer of a file inside a domain folder, by its name: the first that matches.
      'boundaries/files': [
        { category: 'resolvers', pattern: `src/${DOMAINS}/*-resolvers.ts` },
        { category: 'repository', pattern: `src/${DOMAINS}/*-repository.ts` },
        // Services and what they share (rules, types, errors).
        { category: 'service', pattern: `src/${DOMAINS}/*.ts` },
      ],
      'boundaries/files-single-match': true,
    },
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          // Files of one folder are checked too: a domain folder holds three layers.
          checkInternals: true,
          policies: [
            { from: LAYERS.main, allow: [anyElement] },
            { from: LAYERS.generated, allow: types('generated') },
            { from: LAYERS.inference, allow: types('inference') },
            { from: LAYERS.platform, allow: types('platform', 'generated') },
            { from: LAYERS.repository, allow: [...types('platform', 'generated'), sameDomain('domain')] },
            { from: LAYERS.domain, allow: [...types('platform', 'generated', 'inference', 'domain'), sameDomain('repository')] },
            { from: LAYERS['resolver-kit'], allow: types('resolver-kit', 'platform', 'generated', 'domain') },
            { from: LAYERS.resolvers, allow: types('resolver-kit', 'platform', 'generated', 'domain') },
            {
              from: LAYERS.graphql,
              allow: types('graphql', 'transport', 'resolver-kit', 'resolvers', 'domain', 'platform', 'generated'),
            },
            { from: LAYERS.transport, allow: types('transport', 'domain', 'platform', 'generated') },
          ],
        },
      ],
    },
  },
);
