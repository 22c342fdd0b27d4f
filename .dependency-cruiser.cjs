/**
 * certfleet's layers, checked by dependency-cruiser in `npm run lint` (and so in `npm test`).
 * Dependencies point one way:
 *
 *   functions/ (thin triggers) -> shared/app (use cases, ports) -> shared/domain (pure)
 *   shared/adapters, shared/config: implement and feed the ports
 *   shared/services.ts: the composition root that wires adapters into use cases
 *   shared/web: pages the functions answer with (the dashboard), drawn from use cases' results
 *   shared/cli, shared/local, shared/simulation: entry points of their own
 *
 * dependency-cruiser resolves every import to the file it names (TypeScript-aware, through
 * tsconfig.json), so a rule is about where code lives, not how an import is spelled; it also
 * finds cycles. docs/architecture.md draws the same picture.
 */
/** Node modules that reach the outside world: no place in the pure domain. */
const NODE_IO = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'dns',
  'child_process',
  'cluster',
  'worker_threads',
  'readline',
  'stream',
  'process',
  'os',
];
const nodeIo = `^(node:)?(${NODE_IO.join('|')})$`;

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'shared/domain decides; it imports nothing of the project outside itself, no Azure SDK ' +
        'and no Node I/O, so it runs the same in a test, a simulation and Azure.',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: {
        pathNot: ['^shared/domain/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'domain-without-io',
      comment: 'No Node I/O module in the domain (node:crypto for hashing is allowed).',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { dependencyTypes: ['core'], path: nodeIo },
    },
    {
      name: 'app-uses-only-domain',
      comment:
        'Use cases take ports: shared/app imports shared/domain and itself, never an adapter, ' +
        'the settings, the composition root, an entry point or an Azure SDK.',
      severity: 'error',
      from: { path: '^shared/app/' },
      to: {
        path: [
          '^functions/',
          '^shared/(adapters|config|cli|local|simulation|scripts|web)/',
          '^shared/services\\.ts$',
          '^node_modules/@azure/',
        ],
      },
    },
    {
      name: 'web-is-presentation',
      comment:
        'shared/web renders what use cases answer as HTML (the dashboard) and serves the files a ' +
        'page loads: it imports use cases and the domain for their results, never an adapter, the ' +
        'settings, the composition root, a function, an entry point or an Azure SDK.',
      severity: 'error',
      from: { path: '^shared/web/' },
      to: {
        path: [
          '^functions/',
          '^shared/(adapters|config|cli|local|simulation|scripts)/',
          '^shared/services\\.ts$',
          '^node_modules/@azure/',
        ],
      },
    },
    {
      name: 'adapters-and-config-not-use-cases',
      comment:
        'Adapters implement ports and config feeds them: they may import the ports (and the ' +
        "ingest use case's message contract, which the Event Hubs adapters produce), never a use " +
        'case, the composition root, a function or an entry point.',
      severity: 'error',
      from: { path: '^shared/(adapters|config)/' },
      to: {
        path: [
          '^functions/',
          '^shared/(cli|local|simulation)/',
          '^shared/services\\.ts$',
          '^shared/app/',
        ],
        pathNot: [
          '^shared/app/ports\\.ts$',
          '^shared/app/concurrency\\.ts$',
          '^shared/app/ingest/RawIotHubMessage\\.ts$',
        ],
      },
    },
    {
      name: 'config-not-adapters',
      comment:
        'Settings are read and validated from text; adapters are built from them, not the reverse.',
      severity: 'error',
      from: { path: '^shared/config/' },
      to: { path: '^shared/adapters/' },
    },
    {
      name: 'only-the-local-host-loads-functions',
      comment:
        'A function file registers itself with the Functions host when it loads. Only the local ' +
        'host, which stands in for that runtime, loads functions/; the CLI and the simulator call ' +
        'use cases.',
      severity: 'error',
      from: { path: '^shared/', pathNot: '^shared/local/triggerDefinitions\\.ts$' },
      to: { path: '^functions/' },
    },
    {
      name: 'functions-are-thin',
      comment:
        'A function parses its trigger, calls a use case and maps the result: no CLI, no local host, no simulator.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^shared/(cli|local|simulation|scripts)/' },
    },
    {
      name: 'agent-is-copyable',
      comment:
        'shared/agent is the reference device agent firmware teams copy: it uses packages, Node ' +
        'and itself, and of certfleet only the clock (shared/domain/Clock.ts).',
      severity: 'error',
      from: { path: '^shared/agent/' },
      to: {
        path: '^(functions|shared)/',
        pathNot: ['^shared/agent/', '^shared/domain/Clock\\.ts$'],
      },
    },
    {
      name: 'certfleet-does-not-run-the-agent',
      comment:
        'The agent is a device program on the device SDKs (dev dependencies): only local runs ' +
        '(npm start, the stand-ins) start agents; the Function app and the CLI never load it.',
      severity: 'error',
      from: { path: '^(functions|shared)/', pathNot: '^shared/(agent|local)/' },
      to: { path: '^shared/agent/' },
    },
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: split what they share into a third.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types'],
    },
  },
};
