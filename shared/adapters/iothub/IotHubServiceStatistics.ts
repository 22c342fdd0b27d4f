import { HubStatistics, ProbeFailed } from '../../app/ports';
import { IotHubAccess } from './IotHubAccess';
import { ERROR_NAMES_BY_CODE, iotHubErrorCode } from './iotHubErrors';

/** Where IoT Hub answers its service statistics, after the hub's base URL. */
export const SERVICE_STATISTICS_PATH = '/statistics/service';

/**
 * Whether each hub answers certfleet, for the health check: IoT Hub's "Statistics - Get Service
 * Statistics", `GET https://{hub}.azure-devices.net/statistics/service?api-version=2021-04-12`,
 * answering `{"connectedDeviceCount": n}` (Microsoft Learn, IoT Hub service REST API). It goes
 * the way the direct methods go (IotHubAccess: the hub's host, or CERTFLEET_IOTHUB_ENDPOINT
 * locally; a SAS token from the hub's policy, or an Entra ID token), so a hub that answers here
 * takes certfleet's credentials. With Entra ID it needs the data action
 * `Microsoft.Devices/IotHubs/statistics/read` (Microsoft Learn, "Control access to IoT Hub by
 * using Microsoft Entra ID"), which IoT Hub Data Contributor, the role the direct methods
 * need, includes. With a SAS token, the Service connect permission the direct methods need,
 * which IoT Hub's access-control page says covers the service-side monitoring endpoints; not
 * tried against a live hub (a 401 here while direct methods work would mean the policy also
 * needs Registry read).
 */
export class IotHubServiceStatistics implements HubStatistics {
  private readonly access: IotHubAccess;

  constructor(options: { access: IotHubAccess }) {
    this.access = options.access;
  }

  get hubs(): readonly string[] {
    return this.access.hubs;
  }

  async connectedDevices(hub: string, signal: AbortSignal): Promise<number | undefined> {
    const target = this.access.targetOf(hub);
    if (!target) throw new ProbeFailed('no connection configured for this hub');
    let authorization: string;
    try {
      authorization = await this.access.authorizationFor(target);
    } catch (error) {
      throw new ProbeFailed(`no Entra ID token (${kindOf(error)})`);
    }
    let response: Response;
    let body: string;
    try {
      response = await fetch(this.access.urlOf(target, SERVICE_STATISTICS_PATH), {
        method: 'GET',
        headers: { authorization, accept: 'application/json', 'user-agent': 'certfleet' },
        // IoT Hub is not known to redirect; following one would hand the token to another host.
        redirect: 'manual',
        signal,
      });
      body = await response.text();
    } catch (error) {
      throw new ProbeFailed(networkProblem(error));
    }
    if (response.status !== 200) {
      const code = iotHubErrorCode(body, response.headers.get('iothub-errorcode'));
      const name = code !== undefined ? ERROR_NAMES_BY_CODE.get(code) : undefined;
      throw new ProbeFailed(
        [response.status, name ?? (code !== undefined ? String(code) : undefined)]
          .filter((part) => part !== undefined)
          .join(' '),
      );
    }
    const count = connectedDeviceCountIn(body);
    if (count === 'not statistics') {
      throw new ProbeFailed('200 with an answer that is not service statistics');
    }
    return count;
  }
}

/** `{"connectedDeviceCount": n}`: n, or undefined when the field is absent. */
function connectedDeviceCountIn(body: string): number | undefined | 'not statistics' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'not statistics';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'not statistics';
  }
  const count = (parsed as { connectedDeviceCount?: unknown }).connectedDeviceCount;
  if (count === undefined) return undefined;
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0
    ? count
    : 'not statistics';
}

/** A failed fetch: the network error's code under `cause` (`ENOTFOUND`), or its kind. */
function networkProblem(error: unknown): string {
  const e = error as { name?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
  return kindOf(error);
}

function kindOf(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^\w{1,60}$/.test(name) ? name : 'unknown error';
}
