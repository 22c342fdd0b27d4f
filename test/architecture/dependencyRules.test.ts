import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The layer rules in .dependency-cruiser.cjs, tried on a small tree that breaks each of them
 * once. (`npm run lint` runs the same rules on certfleet itself, which must break none.)
 */
const ROOT = join(__dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string, paths: string[]) {
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...paths],
    { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const report = JSON.parse(run.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return { violations: report.summary.violations };
}

/** Files of a tree that breaks every rule once, each named after the rule it breaks. */
const BROKEN_TREE: Record<string, string> = {
  'shared/domain/Pure.ts': `export const pure = 1;\n`,
  'shared/domain/domainImportsApp.ts': `import { useCase } from '../app/UseCase';\nexport const x = useCase;\n`,
  'shared/domain/domainImportsAzure.ts': `import { BlobClient } from '@azure/storage-blob';\nexport type X = BlobClient;\n`,
  'shared/domain/domainReadsFiles.ts': `import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n`,
  'shared/app/UseCase.ts': `import { pure } from '../domain/Pure';\nexport const useCase = pure;\n`,
  'shared/app/ports.ts': `export interface Port { x: number }\n`,
  'shared/app/appImportsAdapter.ts': `import { adapter } from '../adapters/Adapter';\nexport const y = adapter;\n`,
  'shared/adapters/Adapter.ts': `import { Port } from '../app/ports';\nexport const adapter: Port = { x: 1 };\n`,
  'shared/adapters/adapterImportsUseCase.ts': `import { useCase } from '../app/UseCase';\nexport const z = useCase;\n`,
  'shared/config/configImportsAdapter.ts': `import { adapter } from '../adapters/Adapter';\nexport const c = adapter;\n`,
  'shared/cli/cliImportsFunction.ts': `import { handler } from '../../functions/aFunction';\nexport const h = handler;\n`,
  'shared/local/triggerDefinitions.ts': `import { handler } from '../../functions/aFunction';\nexport const all = [handler];\n`,
  'functions/aFunction.ts': `import { useCase } from '../shared/app/UseCase';\nexport const handler = () => useCase;\n`,
  'functions/functionImportsCli.ts': `import { h } from '../shared/cli/cliImportsFunction';\nexport const f = h;\n`,
  'shared/web/webImportsAdapter.ts': `import { adapter } from '../adapters/Adapter';\nexport const w = adapter;\n`,
  'shared/app/appImportsWeb.ts': `import { w } from '../web/webImportsAdapter';\nexport const v = w;\n`,
  'shared/agent/Agent.ts': `import { pure } from '../domain/Pure';\nexport const agent = pure;\n`,
  'shared/cli/cliRunsAgent.ts': `import { agent } from '../agent/Agent';\nexport const r = agent;\n`,
  'shared/app/cycleA.ts': `import { b } from './cycleB';\nexport const a = () => b;\n`,
  'shared/app/cycleB.ts': `import { a } from './cycleA';\nexport const b = () => a;\n`,
};

describe('the dependency rules', () => {
  let tree: string;

  beforeAll(() => {
    tree = mkdtempSync(join(tmpdir(), 'certfleet-layers-'));
    cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(tree, '.dependency-cruiser.cjs'));
    cpSync(join(ROOT, 'tsconfig.json'), join(tree, 'tsconfig.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
    for (const [path, text] of Object.entries(BROKEN_TREE)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    }
  });

  afterAll(() => rmSync(tree, { recursive: true, force: true }));

  it('fail the check, naming each rule broken and where', () => {
    const { violations } = cruise(tree, ['functions', 'shared']);

    // A package is named by its folder: where node_modules resolves from differs by machine.
    const found = violations
      .map(
        (v) =>
          `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/(@[^/]+\/[^/]+|[^/]+).*$/, '$1')}`,
      )
      .sort();
    expect(found).toEqual(
      [
        'adapters-and-config-not-use-cases: shared/adapters/adapterImportsUseCase.ts -> shared/app/UseCase.ts',
        'agent-is-copyable: shared/agent/Agent.ts -> shared/domain/Pure.ts',
        'certfleet-does-not-run-the-agent: shared/cli/cliRunsAgent.ts -> shared/agent/Agent.ts',
        'app-uses-only-domain: shared/app/appImportsAdapter.ts -> shared/adapters/Adapter.ts',
        'app-uses-only-domain: shared/app/appImportsWeb.ts -> shared/web/webImportsAdapter.ts',
        'config-not-adapters: shared/config/configImportsAdapter.ts -> shared/adapters/Adapter.ts',
        'domain-is-pure: shared/domain/domainImportsApp.ts -> shared/app/UseCase.ts',
        'domain-is-pure: shared/domain/domainImportsAzure.ts -> @azure/storage-blob',
        'domain-without-io: shared/domain/domainReadsFiles.ts -> fs',
        'functions-are-thin: functions/functionImportsCli.ts -> shared/cli/cliImportsFunction.ts',
        'no-cycles: shared/app/cycleA.ts -> shared/app/cycleB.ts',
        'only-the-local-host-loads-functions: shared/cli/cliImportsFunction.ts -> functions/aFunction.ts',
        'web-is-presentation: shared/web/webImportsAdapter.ts -> shared/adapters/Adapter.ts',
      ].sort(),
    );
  });
});
