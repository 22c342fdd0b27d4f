import type { Aedes } from 'aedes';

/**
 * The aedes broker class. aedes 1.x ships as an ES module only. Node 20.19 and later load such
 * a module with `require` (require(esm), on by default), but jest's module registry does not,
 * and jest also stands in for `node:module`; so the module is loaded through Node's own
 * `require`, reached with `process.getBuiltinModule` (Node 20.16+), which jest leaves alone:
 * the same code under jest, in `npm start` and in `dist/`.
 */
export function loadAedes(): typeof Aedes {
  // Absent before Node 20.16, whatever the type declarations say.
  if (typeof (process.getBuiltinModule as unknown) !== 'function') {
    throw new Error('the stand-in device endpoint needs Node.js 20.19 or later (aedes is ESM)');
  }
  const nodeModule = process.getBuiltinModule('node:module');
  const nodeRequire = nodeModule.createRequire(__filename);
  return (nodeRequire('aedes') as { Aedes: typeof Aedes }).Aedes;
}
