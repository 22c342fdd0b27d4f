import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AlertNotification } from '../app/ports';

/** What the receiver got over a run: what ops would have seen, and what it turned away. */
export interface ReceivedAlerts {
  /** Notifications accepted, the first delivery of each id, in order of arrival. */
  readonly notifications: readonly AlertNotification[];
  /** Deliveries of an id already accepted: answered 200 (done), not kept again. */
  readonly duplicates: number;
  /** Requests whose signature was missing or did not verify: answered 401, not kept. */
  readonly badSignatures: number;
  /** Signed requests that were not a notification (not JSON, no id, a key that is not its id). */
  readonly malformed: number;
}

/** Path the receiver listens on; anything else is 404. */
const PATH = '/alerts';
/** A notification is well under a kilobyte; a fleet alert's sample keeps it small. */
const MAX_BODY_BYTES = 64 * 1024;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const KINDS: readonly string[] = ['raised', 'escalated', 'resolved'];
const SEVERITIES: readonly string[] = ['warning', 'critical'];
const SCOPES: readonly string[] = ['device', 'fleet'];

/**
 * A webhook receiver for `npm start`, on 127.0.0.1 and a free port: what a real receiver of
 * certfleet's generic webhook does (docs/alerts.md), so the local run exercises the sink, the
 * outbox and the signature end to end instead of a stub.
 *
 * Each request is checked in the order a receiver must: the HMAC-SHA256 signature over the raw
 * body bytes as received, compared in constant time, before anything is parsed (401 when it is
 * missing or wrong); then the body must be a notification whose id is the `Idempotency-Key`
 * (400 otherwise); then a key already accepted is a duplicate, answered 200 so the sender
 * settles it, and not kept twice.
 *
 * The signing secret is 32 random bytes made for each receiver: nothing to configure, nothing
 * to leak beyond the process. It lives in a private field (no inspection, JSON or log of the
 * receiver shows it) and leaves only through `webhook()`, for the sink.
 */
export class LoopbackAlertReceiver implements ReceivedAlerts {
  readonly #secret = randomBytes(32).toString('hex');
  readonly #accepted: AlertNotification[] = [];
  readonly #seen = new Set<string>();
  #duplicates = 0;
  #badSignatures = 0;
  #malformed = 0;
  #server: Server | undefined;
  #url: string | undefined;

  get notifications(): readonly AlertNotification[] {
    return this.#accepted;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  get badSignatures(): number {
    return this.#badSignatures;
  }

  get malformed(): number {
    return this.#malformed;
  }

  /** `http://127.0.0.1:<port>/alerts`, once started. */
  get url(): string {
    if (this.#url === undefined) throw new Error('the loopback alert receiver is not started');
    return this.#url;
  }

  /** The webhook sink's options for this receiver: its URL and the secret to sign with. */
  webhook(): { url: string; secret: string } {
    return { url: this.url, secret: this.#secret };
  }

  /** Listens on 127.0.0.1, on a port the system picks; resolves with the URL. */
  async start(): Promise<string> {
    if (this.#url !== undefined) return this.#url;
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) {
      server.close();
      throw new Error('the loopback alert receiver got no port');
    }
    this.#server = server;
    this.#url = `http://127.0.0.1:${address.port}${PATH}`;
    return this.#url;
  }

  /** Stops listening and closes open connections; what was received is kept. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#url = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if ((req.url ?? '').split('?')[0] !== PATH) {
      drain(req, () => answer(res, 404, { error: 'not found' }));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      drain(req, () => answer(res, 405, { error: 'POST only' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return answer(res, 413, { error: 'body too large' });
      const [status, body] = this.receive(req, Buffer.concat(chunks));
      answer(res, status, body);
    });
  }

  /** One complete request: verified, parsed, deduplicated, kept. */
  private receive(req: IncomingMessage, raw: Buffer): [number, Record<string, unknown>] {
    if (!this.signedBySender(raw, header(req, 'x-certfleet-signature'))) {
      this.#badSignatures += 1;
      return [401, { error: 'signature missing or invalid' }];
    }
    const notification = notificationOf(raw);
    const key = header(req, 'idempotency-key');
    if (!notification || key === undefined || key !== notification.id) {
      this.#malformed += 1;
      return [400, { error: 'not a certfleet notification with its id as Idempotency-Key' }];
    }
    if (this.#seen.has(key)) {
      this.#duplicates += 1;
      return [200, { received: key, duplicate: true }];
    }
    this.#seen.add(key);
    this.#accepted.push(notification);
    return [200, { received: key, duplicate: false }];
  }

  /** The header's HMAC-SHA256 against the raw bytes, compared in constant time. */
  private signedBySender(raw: Buffer, signature: string | undefined): boolean {
    const hex = SIGNATURE.exec(signature ?? '')?.[1];
    if (hex === undefined) return false;
    const expected = createHmac('sha256', this.#secret).update(raw).digest();
    return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
  }
}

/** The notification in a body, when it is one: JSON with the fields a receiver relies on. */
function notificationOf(raw: Buffer): AlertNotification | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const n = value as Record<string, unknown>;
  const text = (field: string) => typeof n[field] === 'string' && n[field] !== '';
  const ok =
    ['id', 'alertId', 'rule', 'summary', 'raisedAt', 'at'].every(text) &&
    KINDS.includes(n['status'] as string) &&
    SEVERITIES.includes(n['severity'] as string) &&
    SCOPES.includes(n['scope'] as string);
  return ok ? (value as AlertNotification) : undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a request to its end without keeping it, then answers. */
function drain(req: IncomingMessage, then: () => void): void {
  req.resume();
  req.on('end', then);
}

function answer(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
