import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Chart.js's UMD build (it defines `window.Chart`), as installed with the app: the dashboard
 * serves it itself, so the page needs no CDN and no network beyond certfleet. Read from
 * node_modules when first asked for, then kept: 210 KB, the same for the life of the process.
 *
 * `chart.js/dist/chart.umd.js` is not in the package's `exports`, so it is found beside the
 * CommonJS entry point the package does export (`dist/chart.cjs`).
 */
export interface ChartJsAsset {
  /** The script, without its source-map comment (the map is not served). */
  source: string;
  /** The installed version, read from the script's banner: part of the URL, so it caches. */
  version: string;
}

let cached: ChartJsAsset | undefined;

export function chartJsAsset(): ChartJsAsset {
  cached ??= readChartJs();
  return cached;
}

function readChartJs(): ChartJsAsset {
  const file = join(dirname(require.resolve('chart.js')), 'chart.umd.js');
  const source = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  const version = /Chart\.js v(\d+\.\d+\.\d+\S*)/.exec(source.slice(0, 300))?.[1];
  if (!version) throw new Error(`${file} does not look like Chart.js's UMD build`);
  return { source, version };
}
