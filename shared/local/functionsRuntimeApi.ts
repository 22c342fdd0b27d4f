/**
 * The local host's side of `@azure/functions-core`: the module through which @azure/functions
 * hands every `app.http/timer/eventHub(...)` and `app.hook.*(...)` to the Functions host's
 * worker. In Azure (and under `func start`) the worker provides it; outside a host
 * @azure/functions finds none, switches to test mode and warns once per registration.
 *
 * The local host stands in for the Functions runtime, so it provides this module too
 * (installFunctionsRuntimeApi.ts in a process, `moduleNameMapper` under jest): the functions
 * register here as they would in Azure, and the registrations can be listed. Only what
 * @azure/functions 4.x calls is here. Its presence of `log` is how the package tells a host
 * that can stream HTTP (4.28 and later) from an older one, so `app.setup({ enableHttpStream })`
 * works here as it does in Azure; the local host streams responses itself.
 */
export interface FunctionRegistration {
  name: string;
  /** The binding metadata @azure/functions built from the function's options. */
  metadata: unknown;
}

interface Disposable {
  dispose(): void;
}

const functions: FunctionRegistration[] = [];
const hooks: string[] = [];

/** Every function registered so far in this process, in the order of registration. */
export function registeredFunctions(): readonly FunctionRegistration[] {
  return functions;
}

/** The app hooks (`appStart`, `preInvocation`, …) registered so far. */
export function registeredHooks(): readonly string[] {
  return hooks;
}

export function setProgrammingModel(_model: unknown): void {
  // The host would invoke functions through this model; the local host calls handlers itself.
}

export function registerFunction(metadata: { name: string }, _handler: unknown): Disposable {
  const registration = { name: metadata.name, metadata };
  functions.push(registration);
  return { dispose: () => void functions.splice(functions.indexOf(registration), 1) };
}

export function registerHook(hookName: string, _callback: unknown): Disposable {
  hooks.push(hookName);
  return { dispose: () => void hooks.splice(hooks.indexOf(hookName), 1) };
}

/** The package's own log lines ("worker system logs"): warnings and errors reach stderr. */
export function log(level: string, _category: string, message: string): void {
  if (level === 'warning' || level === 'error' || level === 'critical')
    process.stderr.write(`@azure/functions: ${message}\n`);
}
