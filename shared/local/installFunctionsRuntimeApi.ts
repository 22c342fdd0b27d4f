import Module from 'node:module';

/**
 * Makes `@azure/functions-core` resolve to the local host's stand-in (functionsRuntimeApi.ts)
 * in this process, as the Functions worker makes it resolve to its own. @azure/functions looks
 * the module up at the first registration, so this must run before any functions/ module loads:
 * triggerDefinitions.ts, the one place that loads them, imports it first.
 */
const CORE_MODULE = '@azure/functions-core';

type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: Resolve };
const resolve = moduleInternals._resolveFilename;
if (!(resolve as { standIn?: boolean }).standIn) {
  const standIn: Resolve = function (this: unknown, request, ...rest) {
    if (request === CORE_MODULE) return require.resolve('./functionsRuntimeApi');
    return resolve.call(this, request, ...rest);
  };
  (standIn as { standIn?: boolean }).standIn = true;
  moduleInternals._resolveFilename = standIn;
}
