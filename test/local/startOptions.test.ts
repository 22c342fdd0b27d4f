import {
  MAX_AGENTS,
  START_USAGE,
  StartUsageError,
  parseStartOptions,
} from '../../shared/local/startOptions';

describe('npm start’s command line', () => {
  it('runs the default fleet and serves, with no agents, when given nothing', () => {
    expect(parseStartOptions([])).toEqual({
      exit: false,
      seed: 1,
      port: 7071,
      agents: 0,
      help: false,
    });
  });

  it('reads every option', () => {
    expect(
      parseStartOptions([
        '--exit',
        '--devices',
        '500',
        '--days',
        '60',
        '--seed',
        '7',
        '--port',
        '7072',
        '--agents',
        '3',
      ]),
    ).toEqual({ exit: true, devices: 500, days: 60, seed: 7, port: 7072, agents: 3, help: false });
  });

  it('takes from 0 to the most agents a run starts', () => {
    expect(parseStartOptions(['--agents', '0']).agents).toBe(0);
    expect(parseStartOptions(['--agents', String(MAX_AGENTS)]).agents).toBe(MAX_AGENTS);
  });

  it.each([
    [['--agents'], '--agents takes a whole number from 0 to 50 (0: no agents), got nothing'],
    [['--agents', '51'], '--agents takes a whole number from 0 to 50 (0: no agents), got "51"'],
    [['--agents', '-1'], '--agents takes a whole number from 0 to 50 (0: no agents), got "-1"'],
    [['--agents', '2.5'], '--agents takes a whole number from 0 to 50 (0: no agents), got "2.5"'],
    [
      ['--agents', 'three'],
      '--agents takes a whole number from 0 to 50 (0: no agents), got "three"',
    ],
    [
      ['--agents', '--exit'],
      '--agents takes a whole number from 0 to 50 (0: no agents), got "--exit"',
    ],
    [['--devices', '0'], '--devices takes a positive whole number, got "0"'],
    [['--days', '1e3'], '--days takes a positive whole number, got "1e3"'],
    [['--port', '70000'], '--port takes a port from 1 to 65535, got 70000'],
  ])('refuses %j, naming the option and what it takes', (argv, message) => {
    expect(() => parseStartOptions(argv)).toThrow(new StartUsageError(message));
  });

  it('names every option it knows when given one it does not', () => {
    expect(() => parseStartOptions(['--agent', '3'])).toThrow(
      'unknown option --agent (known: --exit, --devices N, --days N, --seed N, --port N, --agents N, --help)',
    );
  });

  it('has a usage text that explains --agents', () => {
    expect(parseStartOptions(['--help']).help).toBe(true);
    expect(START_USAGE).toMatch(/--agents N +then run N real device agents \(1 to 50\)/);
  });
});
