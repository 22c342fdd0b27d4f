/**
 * Outside the Functions host, @azure/functions runs in test mode and warns once per
 * registration. The CLI and the local host run outside the host on purpose, so those two
 * warnings are dropped; every other warning passes. Import this before any functions/ module.
 */
const EXPECTED = [
  'WARNING: Failed to detect the Azure Functions runtime',
  'WARNING: Skipping call to register function',
];
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && EXPECTED.some((text) => (args[0] as string).startsWith(text)))
    return;
  warn(...args);
};
