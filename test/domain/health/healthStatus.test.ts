import {
  PARTITION_LAG_THRESHOLD,
  eventStreamStatusOf,
  healthStatus,
} from '../../../shared/domain/health/healthStatus';

/** certfleet's one-word health from what each check found. */
const ok = { status: 'ok' as const };
const unreachable = { status: 'unreachable' as const };

describe('healthStatus', () => {
  it('is healthy when storage, the event stream and every hub answer', () => {
    expect(healthStatus({ storage: ok, eventStream: ok, hubs: [ok, ok] })).toBe('healthy');
  });

  it('is healthy with no event stream configured and no hub: a local run is not a failure', () => {
    expect(healthStatus({ storage: ok, eventStream: { status: 'not-configured' }, hubs: [] })).toBe(
      'healthy',
    );
  });

  it('is unhealthy when storage does not answer, whatever else answers', () => {
    expect(healthStatus({ storage: unreachable, eventStream: ok, hubs: [ok] })).toBe('unhealthy');
    expect(
      healthStatus({ storage: unreachable, eventStream: unreachable, hubs: [unreachable] }),
    ).toBe('unhealthy');
  });

  it('is degraded when one hub of several does not answer', () => {
    expect(healthStatus({ storage: ok, eventStream: ok, hubs: [ok, unreachable] })).toBe(
      'degraded',
    );
  });

  it('is degraded when the event stream cannot be read', () => {
    expect(healthStatus({ storage: ok, eventStream: unreachable, hubs: [ok] })).toBe('degraded');
  });

  it('is degraded when the event stream is lagging', () => {
    expect(healthStatus({ storage: ok, eventStream: { status: 'lagging' }, hubs: [] })).toBe(
      'degraded',
    );
  });
});

describe('eventStreamStatusOf', () => {
  it('is lagging when one partition is more than the threshold behind', () => {
    expect(eventStreamStatusOf([{ lag: 0 }, { lag: PARTITION_LAG_THRESHOLD + 1 }])).toBe('lagging');
  });

  it('is ok at exactly the threshold', () => {
    expect(eventStreamStatusOf([{ lag: PARTITION_LAG_THRESHOLD }, { lag: 12 }])).toBe('ok');
  });

  it('does not count a lag it cannot know as lagging', () => {
    expect(eventStreamStatusOf([{ lag: null }, { lag: 3 }])).toBe('ok');
  });

  it('is ok for an Event Hub without partitions reported', () => {
    expect(eventStreamStatusOf([])).toBe('ok');
  });
});
