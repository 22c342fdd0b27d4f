import { TwinPage, TwinQueryFailed, TwinSource } from '../../app/ports';
import { DAY_MS } from '../../domain/Clock';
import { IotHubSettings } from '../../config/iotHubSettings';
import { IotHubAccess } from './IotHubAccess';
import { ERROR_NAMES_BY_CODE, iotHubErrorCode } from './iotHubErrors';
import { iotHubRequest, networkFault, retryAfterOf, shorten, tokenFailure } from './iotHubHttp';

/**
 * Device twins only: `devices.modules` would be module twins, which certfleet does not track.
 * Microsoft Learn, "Queries for IoT Hub device and module twins".
 */
export const TWIN_QUERY = 'SELECT * FROM devices';
/**
 * Twins per page. The quota counts queries, not twins, but a page is held in memory and a twin
 * can reach 72 KB (32 KB desired, 32 KB reported, 8 KB tags): 100 keeps a page under ~7 MB,
 * and is the Event Hubs trigger's batch size, so each page is one ingest batch.
 */
export const DEFAULT_TWIN_PAGE_SIZE = 100;

export interface IotHubTwinQueryOptions {
  access: IotHubAccess;
  pageSize?: number;
}

/**
 * Reads a hub's device twins through IoT Hub's REST API, "Query - Get Twins":
 * `POST /devices/query?api-version=2021-04-12` with `{"query": "SELECT * FROM devices"}`,
 * `x-ms-max-item-count` for the page size (the service may choose another) and
 * `x-ms-continuation` for the next page; the answer is a JSON array of twins, with
 * `x-ms-continuation` when there is more and `x-ms-item-type: twin`. Same routing and
 * authorization as the direct methods (IotHubAccess). Every answer that is not a page becomes
 * a `TwinQueryFailed` saying whether to wait, retry or give up.
 */
export class IotHubTwinQuery implements TwinSource {
  private readonly access: IotHubAccess;
  private readonly pageSize: number;

  constructor(options: IotHubTwinQueryOptions) {
    this.access = options.access;
    this.pageSize = options.pageSize ?? DEFAULT_TWIN_PAGE_SIZE;
  }

  static fromSettings(settings: IotHubSettings, now?: () => Date): IotHubTwinQuery {
    return new IotHubTwinQuery({ access: IotHubAccess.fromSettings(settings, now) });
  }

  get hubs(): readonly string[] {
    return this.access.hubs;
  }

  async queryTwins(hub: string, continuation?: string): Promise<TwinPage> {
    const target = this.access.targetOf(hub);
    if (!target) throw new TwinQueryFailed('refused', `no connection configured for hub ${hub}`);
    let authorization: string;
    try {
      authorization = await this.access.authorizationFor(target);
    } catch (error) {
      const failure = tokenFailure(error, target.hub);
      throw new TwinQueryFailed(failure.transient ? 'unavailable' : 'refused', failure.reason);
    }

    let response: Response;
    let body: string;
    try {
      response = await fetch(
        this.access.urlOf(target, '/devices/query'),
        iotHubRequest(authorization, { query: TWIN_QUERY }, this.access.settings.requestTimeoutMs, {
          'x-ms-max-item-count': String(this.pageSize),
          ...(continuation ? { 'x-ms-continuation': continuation } : {}),
        }),
      );
      body = await response.text();
    } catch (error) {
      throw new TwinQueryFailed('unavailable', `hub ${target.hub}: ${networkFault(error)}`);
    }
    if (response.status !== 200) {
      throw failureOf(response.status, body, response.headers, target.hub, this.access.now());
    }
    return pageOf(body, response.headers, target.hub);
  }
}

function pageOf(body: string, headers: Headers, hub: string): TwinPage {
  // The Java service SDK names the item types: twin, deviceJob, jobResponse, raw.
  const itemType = headers.get('x-ms-item-type')?.trim();
  if (itemType && itemType.toLowerCase() !== 'twin') {
    throw new TwinQueryFailed(
      'refused',
      `hub ${hub}: the query answered ${shorten(itemType)} items, not twins`,
      { status: 200 },
    );
  }
  let twins: unknown;
  try {
    twins = JSON.parse(body);
  } catch {
    twins = undefined;
  }
  if (!Array.isArray(twins)) {
    // A cut or garbled answer: asking for the same page again may well work.
    throw new TwinQueryFailed('unavailable', `hub ${hub}: the query answer is not a JSON array`, {
      status: 200,
    });
  }
  const next = headers.get('x-ms-continuation')?.trim();
  return next ? { twins, continuation: next } : { twins };
}

/** What a non-200 answer means for the caller: wait, retry, or give up. */
function failureOf(
  status: number,
  body: string,
  headers: Headers,
  hub: string,
  now: Date,
): TwinQueryFailed {
  const errorCode = iotHubErrorCode(body, headers.get('iothub-errorcode'));
  const name = errorCode !== undefined ? ERROR_NAMES_BY_CODE.get(errorCode) : undefined;
  const described = [status, errorCode, name].filter((part) => part !== undefined).join(' ');
  const details = { status, ...(errorCode !== undefined ? { errorCode } : {}) };
  const failed = (failure: 'throttled' | 'unavailable' | 'refused', what: string, wait?: number) =>
    new TwinQueryFailed(failure, `hub ${hub}: ${what} (${described})`, {
      ...details,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });

  if (errorCode === 403002) {
    // IotHubQuotaExceeded: queries are billed as messages (4 KB of results each), and the
    // daily message quota is spent until the next UTC day.
    const midnight = (Math.floor(now.getTime() / DAY_MS) + 1) * DAY_MS;
    return failed('throttled', 'the daily message quota is spent', midnight - now.getTime());
  }
  if (status === 429 || (errorCode !== undefined && Math.floor(errorCode / 1000) === 429)) {
    return failed('throttled', 'IoT Hub throttled the twin query', retryAfterOf(headers, now));
  }
  if (status >= 500) return failed('unavailable', 'IoT Hub is unavailable');
  if (status === 401 || status === 403)
    return failed('refused', "IoT Hub refused certfleet's credentials or role");
  if (status === 400) return failed('refused', 'IoT Hub rejected the twin query');
  if (status === 404)
    return failed('refused', 'IoT Hub answered not found: is the hub name right?');
  return failed('refused', 'unexpected answer from IoT Hub');
}
