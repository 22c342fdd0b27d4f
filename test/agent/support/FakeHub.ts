import {
  HubConnection,
  HubSession,
  HubTarget,
  SessionHandlers,
} from '../../../shared/agent/HubConnection';
import { MethodAnswer } from '../../../shared/agent/RenewalRequest';
import { leafThumbprint } from './agentPki';

/**
 * IoT Hub's device endpoint as the agent sees it: sessions opened with a certificate, a twin
 * whose reported properties take merge patches (RFC 7396, as IoT Hub applies them), and direct
 * methods the test invokes. One session at a time, as IoT Hub allows one MQTT connection per
 * device.
 */
export class FakeHub implements HubConnection {
  readonly opens: (HubTarget & { thumbprint: string })[] = [];
  /** Every reported-properties patch IoT Hub accepted, in order. */
  readonly patches: Record<string, unknown>[] = [];
  /** The twin's reported properties after every patch. */
  reported: Record<string, unknown> = {};
  /** The next `failOpens` connection attempts fail. */
  failOpens = 0;
  /** The next `failReports` reports fail. */
  failReports = 0;
  /** The next `loseReports` reports are never answered (a lost QoS 0 answer). */
  loseReports = 0;
  /** Reports sent and never answered. */
  lostReports = 0;
  private session?: FakeSession;

  constructor(private readonly timeline: string[] = []) {}

  async open(target: HubTarget, handlers: SessionHandlers): Promise<HubSession> {
    const thumbprint = await leafThumbprint(target.credential.certificateChainPem);
    this.opens.push({ ...target, thumbprint });
    this.timeline.push(`hub.open cert=${thumbprint.slice(0, 8)}`);
    if (this.failOpens > 0) {
      this.failOpens -= 1;
      throw new Error('connection refused');
    }
    if (this.session && !this.session.closed) {
      throw new Error('a second connection for the device while one is open');
    }
    this.session = new FakeSession(this, handlers, thumbprint);
    return this.session;
  }

  get connected(): boolean {
    return !!this.session && !this.session.closed;
  }

  /** certfleet's direct method: the device's answer, after which the promised work starts. */
  invoke(payload: unknown): MethodAnswer {
    const session = this.session;
    if (!session || session.closed) throw new Error('404103: the device is not online');
    const answer = session.handlers.onMethod(payload);
    answer.afterAnswer?.();
    return { status: answer.status, payload: answer.payload };
  }

  /** The connection drops and the SDK gives up on it. */
  drop(reason = 'network unreachable'): void {
    const session = this.session;
    if (!session || session.closed) return;
    session.closed = true;
    this.timeline.push('hub.dropped');
    session.handlers.onDisconnect(reason);
  }

  accept(patch: Record<string, unknown>, session: FakeSession): void {
    if (this.failReports > 0) {
      this.failReports -= 1;
      throw new Error('twin update timed out');
    }
    this.patches.push(patch);
    this.reported = mergePatch(this.reported, patch) as Record<string, unknown>;
    const certificate = patch['certificate'] as Record<string, unknown> | undefined;
    const what =
      certificate && 'thumbprint' in certificate
        ? `certificate=${String(certificate['thumbprint']).slice(0, 8)}`
        : `renewal=${JSON.stringify(certificate?.['renewal'] ?? null)}`;
    this.timeline.push(`hub.report ${what} via=${session.thumbprint.slice(0, 8)}`);
  }

  closed(session: FakeSession): void {
    this.timeline.push(`hub.close cert=${session.thumbprint.slice(0, 8)}`);
  }
}

class FakeSession implements HubSession {
  closed = false;

  constructor(
    private readonly hub: FakeHub,
    readonly handlers: SessionHandlers,
    readonly thumbprint: string,
  ) {}

  reported(property: string): unknown {
    return this.hub.reported[property];
  }

  async report(patch: Record<string, unknown>): Promise<void> {
    if (this.hub.loseReports > 0) {
      this.hub.loseReports -= 1;
      this.hub.lostReports += 1;
      return new Promise<void>(() => undefined);
    }
    await Promise.resolve();
    if (this.closed) throw new Error('not connected');
    this.hub.accept(JSON.parse(JSON.stringify(patch)) as Record<string, unknown>, this);
  }

  async close(): Promise<void> {
    await Promise.resolve();
    if (!this.closed) this.hub.closed(this);
    this.closed = true;
  }
}

/** RFC 7396: objects merge, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
