import { userInfo } from 'node:os';
import { Command } from 'commander';
import {
  describeRotation,
  describeRotationLine,
  describeRotationWork,
  rotationView,
} from '../app/rotation/RotationStatus';
import { isRotationId } from '../domain/rotation/Rotation';
import { Services } from '../services';
import { UsageError } from './cliEnvironment';

export interface RotationCommandsContext {
  connect: () => Services;
  write: (text: string) => Promise<void>;
  /** Thrown for a run that did what it could and failed (exit code 1). */
  fail: (message: string) => Error;
}

/**
 * `certfleet rotation plan|status|list|cancel|work`: planned CA rotations
 * (shared/app/rotation/PlanRotation.ts). A declaration and a cancellation are audited with who
 * and why: `--who` when given, else the operating-system user running the CLI (which holds the
 * storage credentials), marked as such.
 */
export function addRotationCommands(program: Command, ctx: RotationCommandsContext): void {
  const rotation = program
    .command('rotation')
    .description('planned CA rotations: every certificate from an issuer replaced by a deadline');

  rotation
    .command('plan')
    .description(
      'declare a rotation: every certificate from ISSUER must be replaced by --complete-by; certfleet spreads the renewals over the window',
    )
    .requiredOption('--issuer <dn>', "the issuing CA's distinguished name, as certificates name it")
    .requiredOption('--complete-by <iso>', 'the deadline, ISO 8601 with a zone (at most 400 days)')
    .requiredOption('--why <text>', 'why, for the audit trail')
    .option('--who <name>', 'who declares it (default: the operating-system user)')
    .option('--json', 'print the rotation as JSON')
    .action(
      async (opts: {
        issuer: string;
        completeBy: string;
        why: string;
        who?: string;
        json?: boolean;
      }) => {
        const s = ctx.connect();
        const result = await s.rotations.declare({
          issuer: opts.issuer,
          completeBy: opts.completeBy,
          why: opts.why,
          who: opts.who ?? operator(),
        });
        if ('refused' in result) {
          if (result.refused === 'invalid') throw new UsageError(optionNames(result.problem));
          throw ctx.fail(result.problem);
        }
        const view = rotationView(result.rotation, s.rotations.now());
        if (opts.json) return ctx.write(`${JSON.stringify(view, null, 2)}\n`);
        await ctx.write(`${describeRotation(view).join('\n')}\n`);
        await ctx.write(
          'the plan is made by the rotation work (every 5 minutes in the Function app; `certfleet rotation work` runs it now)\n',
        );
      },
    );

  rotation
    .command('status')
    .description(
      'the progress, the forecast and the devices at risk of a rotation (default: every open one)',
    )
    .argument('[id]', 'the rotation (certfleet rotation list)')
    .option('--json', 'print the status as JSON')
    .action(async (id: string | undefined, opts: { json?: boolean }) => {
      if (id !== undefined && !isRotationId(id))
        throw new UsageError(`a rotation id looks like rot-20261123-1a2b3c4d, got ${id}`);
      const s = ctx.connect();
      const now = s.rotations.now();
      let rotations;
      if (id !== undefined) {
        const found = await s.rotations.get(id);
        if (!found) throw ctx.fail(`no rotation ${id}`);
        rotations = [found];
      } else {
        rotations = (await s.rotations.list()).filter(
          (r) => r.status === 'planning' || r.status === 'active',
        );
      }
      const views = rotations.map((r) => rotationView(r, now));
      if (opts.json)
        return ctx.write(`${JSON.stringify(id !== undefined ? views[0] : views, null, 2)}\n`);
      if (views.length === 0)
        return ctx.write('no open rotation (certfleet rotation list shows all)\n');
      for (const view of views) await ctx.write(`${describeRotation(view).join('\n')}\n`);
      if (views.some((v) => v.meetsDeadline === false))
        throw ctx.fail('a rotation does not meet its deadline');
    });

  rotation
    .command('list')
    .description('every rotation, the latest declared first')
    .option('--json', 'print them as JSON')
    .action(async (opts: { json?: boolean }) => {
      const s = ctx.connect();
      const now = s.rotations.now();
      const views = (await s.rotations.list()).map((r) => rotationView(r, now));
      if (opts.json) return ctx.write(`${JSON.stringify(views, null, 2)}\n`);
      if (views.length === 0) return ctx.write('no rotation declared\n');
      for (const view of views) await ctx.write(`${describeRotationLine(view)}\n`);
    });

  rotation
    .command('cancel')
    .description("cancel a rotation: devices' unused slots are taken off by the rotation work")
    .argument('<id>', 'the rotation')
    .requiredOption('--why <text>', 'why, for the audit trail')
    .option('--who <name>', 'who cancels it (default: the operating-system user)')
    .action(async (id: string, opts: { why: string; who?: string }) => {
      if (!isRotationId(id))
        throw new UsageError(`a rotation id looks like rot-20261123-1a2b3c4d, got ${id}`);
      const s = ctx.connect();
      const result = await s.rotations.cancel({ id, why: opts.why, who: opts.who ?? operator() });
      if ('refused' in result) {
        if (result.refused === 'invalid') throw new UsageError(optionNames(result.problem));
        throw ctx.fail(result.problem);
      }
      await ctx.write(`rotation ${id} cancelled\n`);
    });

  rotation
    .command('work')
    .description(
      'run the rotations’ work now, as the Function app does every 5 minutes: count, place, track',
    )
    .option('--json', 'print what it did as JSON')
    .action(async (opts: { json?: boolean }) => {
      const s = ctx.connect();
      const report = await s.rotations.work();
      await ctx.write(
        opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${describeRotationWork(report)}\n`,
      );
    });
}

/** The operating-system user running the CLI, as the audit trail names it. */
function operator(): string {
  let name = 'unknown';
  try {
    name = userInfo().username || name;
  } catch {
    // No user entry (a container without /etc/passwd): the audit says so.
  }
  return `${name} (certfleet CLI)`;
}

/** The use case names body fields (`completeBy`); the CLI's user typed options. */
function optionNames(problem: string): string {
  return problem
    .replace(/^completeBy\b/, '--complete-by')
    .replace(/^issuer\b/, '--issuer')
    .replace(/^why\b/, '--why')
    .replace(/^who\b/, '--who');
}
