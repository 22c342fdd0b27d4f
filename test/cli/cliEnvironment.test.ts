import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, cliEnvironment } from '../../shared/cli/cliEnvironment';

/**
 * The CLI reads local.settings.json as Core Tools does. The file holds connection strings and
 * keys, so a file that is not JSON is reported by the position of the problem alone: the text
 * around it may be part of a key.
 */
const KEY = Buffer.from('the account key of local.settings.json, 48 bytes').toString('base64');

describe('cliEnvironment', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certfleet-cli-env-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function errorFor(text: string): UsageError {
    writeFileSync(join(dir, 'local.settings.json'), text);
    try {
      cliEnvironment(dir, {});
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return error as UsageError;
    }
    throw new Error('expected a UsageError');
  }

  it('reads the Values, the environment winning over the file', () => {
    writeFileSync(
      join(dir, 'local.settings.json'),
      JSON.stringify({ Values: { FleetStorage: 'from the file', CERTFLEET_AUDIT_SHARDS: '4' } }),
    );

    expect(cliEnvironment(dir, { CERTFLEET_AUDIT_SHARDS: '2' })).toEqual({
      FleetStorage: 'from the file',
      CERTFLEET_AUDIT_SHARDS: '2',
    });
  });

  it('reads a file saved with a byte order mark, as editors on Windows save it', () => {
    writeFileSync(join(dir, 'local.settings.json'), `\uFEFF{"Values":{"FleetStorage":"x"}}`);

    expect(cliEnvironment(dir, {})).toEqual({ FleetStorage: 'x' });
  });

  /** `line 1, column N` for the character right after `before`. */
  const after = (before: string) => `line 1, column ${before.length + 1}`;

  it.each([
    [
      'a key left unquoted',
      `{\n  "Values": {\n    "FleetStorage": AccountKey=${KEY}\n  }\n}`,
      'line 3, column 21',
    ],
    [
      'a quote inside a key',
      `{"Values": {"FleetStorage": "AccountKey=${KEY.slice(0, 20)}"${KEY.slice(20)}"}}`,
      after(`{"Values": {"FleetStorage": "AccountKey=${KEY.slice(0, 20)}"`),
    ],
    [
      'a new line inside a key',
      `{"Values": {\n"IotHub": "SharedAccessKey=${KEY.slice(0, 30)}\n${KEY.slice(30)}"}}`,
      `line 2, column ${`"IotHub": "SharedAccessKey=${KEY.slice(0, 30)}`.length + 1}`,
    ],
    [
      'a bad escape inside a key',
      `{"Values": {"IotHub": "SharedAccessKey=${KEY.slice(0, 10)}\\q${KEY.slice(10)}"}}`,
      after(`{"Values": {"IotHub": "SharedAccessKey=${KEY.slice(0, 10)}\\`),
    ],
    [
      'a comma too many after a key',
      `{"Values": {"IotHub": "SharedAccessKey=${KEY}",}}`,
      after(`{"Values": {"IotHub": "SharedAccessKey=${KEY}",`),
    ],
    [
      'a file cut off inside a key',
      `{"Values": {"IotHub": "SharedAccessKey=${KEY.slice(0, 25)}`,
      after(`{"Values": {"IotHub": "SharedAccessKey=${KEY.slice(0, 25)}`),
    ],
    ['text after the settings', `{"Values": {}}\n${KEY}`, 'line 2, column 1'],
  ])('reports %s by its line and column only, no part of the key', (_, text, position) => {
    const error = errorFor(text);

    expect(error.message).toBe(`local.settings.json is not valid JSON (${position})`);
    for (let i = 0; i + 6 <= KEY.length; i += 1)
      expect(error.message).not.toContain(KEY.slice(i, i + 6));
  });
});
