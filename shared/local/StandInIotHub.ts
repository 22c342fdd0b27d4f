import http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  DIRECT_METHOD_PATH,
  StandInCall,
  StandInDirectMethods,
  StandInHandler,
} from './StandInDirectMethods';
import {
  StandInHubProtocol,
  StandInHubProtocolOptions,
  StandInVerbatimAnswer,
  decodePathSegment,
  header,
  readBody,
} from './StandInHubProtocol';
import {
  StandInQueryCall,
  StandInTwinProvider,
  StandInTwinQuery,
  TWIN_QUERY_PATH,
} from './StandInTwinQuery';

// The stand-in's types, importable from here as its users import them.
export type { StandInAnswer, StandInCall, StandInHandler } from './StandInDirectMethods';
export { STAND_IN_API_VERSION } from './StandInHubProtocol';
export type { StandInQueryAnswer, StandInQueryCall, StandInTwinProvider } from './StandInTwinQuery';

export interface StandInIotHubOptions extends StandInHubProtocolOptions {
  /** Answers the twin query from these twins; without it, the query endpoint answers 404. */
  twins?: StandInTwinProvider;
  /**
   * The most twins a page holds, whatever `x-ms-max-item-count` asks ("the service may use a
   * different value"); so a few twins make several pages in tests.
   */
  maxTwinsPerPage?: number;
  /**
   * What the service statistics answer for a hub: its connected-device count (default 0), or
   * anything else verbatim (an outage, a throttle).
   */
  connectedDevices?: (hub: string) => number | StandInVerbatimAnswer;
}

/** A service statistics call as the stand-in received and answered it. */
export interface StandInStatisticsCall {
  hub: string;
  status: number;
}

/** Where IoT Hub serves its service statistics (`/statistics/service`), after the hub's name. */
export const SERVICE_STATISTICS_PATH = /^\/([^/]+)\/statistics\/service\/?$/;

/**
 * A local stand-in for IoT Hub's direct-method REST endpoint (StandInDirectMethods), for tests
 * and the fleet simulator. It answers with the status codes, headers and error bodies the real
 * service sends (AZURE-FACTS.md, "IoT Hub direct methods"; docs/operations.md lists the
 * sources), so the adapter's classification is exercised against IoT Hub's shapes.
 *
 * Listens on 127.0.0.1 on a free port. Several hubs share it: what IoT Hub serves at
 * `https://{hub}.azure-devices.net/twins/{deviceId}/methods` is served here at
 * `{url}/{hub}/twins/{deviceId}/methods` (a local server cannot tell hubs apart by host name;
 * certfleet does the same with CERTFLEET_IOTHUB_ENDPOINT).
 *
 * What each device answers is scripted by the handler. Given a twin provider (`options.twins`),
 * it also answers IoT Hub's twin query (StandInTwinQuery) at `POST {url}/{hub}/devices/query`.
 * It answers IoT Hub's service statistics ("Statistics - Get Service Statistics",
 * `{"connectedDeviceCount": n}`) at `GET {url}/{hub}/statistics/service`, which certfleet's
 * health check reads.
 */
export class StandInIotHub {
  /** Direct-method calls. */
  readonly calls: StandInCall[];
  /** Twin query calls, one per page asked for. */
  readonly queries: StandInQueryCall[];
  /** Service statistics calls. */
  readonly statistics: StandInStatisticsCall[] = [];
  private server?: http.Server;
  private readonly protocol: StandInHubProtocol;
  private readonly directMethods: StandInDirectMethods;
  private readonly twinQuery?: StandInTwinQuery;

  constructor(
    handler: StandInHandler,
    private readonly options: StandInIotHubOptions = {},
  ) {
    this.protocol = new StandInHubProtocol(options);
    this.directMethods = new StandInDirectMethods(this.protocol, handler);
    this.calls = this.directMethods.calls;
    const twins = options.twins;
    if (twins) {
      this.twinQuery = new StandInTwinQuery(this.protocol, {
        twins,
        maxTwinsPerPage: options.maxTwinsPerPage,
      });
    }
    this.queries = this.twinQuery?.queries ?? [];
  }

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('the stand-in IoT Hub is already started');
    const server = http.createServer((request, response) => {
      this.serve(request, response).catch(() => {
        if (!response.headersSent)
          this.protocol.send(response, 500, this.protocol.errorBody(500001), 'ServerError');
        else response.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Routes a request to the endpoint its path names; anything else is IoT Hub's 404. */
  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const text = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const query = this.twinQuery ? TWIN_QUERY_PATH.exec(url.pathname) : null;
    if (this.twinQuery && query?.[1] && request.method === 'POST') {
      await this.twinQuery.serve(request, response, url, text, query[1]);
      return;
    }
    const statistics = SERVICE_STATISTICS_PATH.exec(url.pathname);
    if (statistics?.[1] && request.method === 'GET') {
      this.serveStatistics(request, response, url, statistics[1]);
      return;
    }
    const route = DIRECT_METHOD_PATH.exec(url.pathname);
    if (!route?.[1] || !route[2] || request.method !== 'POST') {
      this.protocol.send(response, 404, this.protocol.errorBody(404000, 'Not found'));
      return;
    }
    await this.directMethods.serve(request, response, url, text, route[1], route[2]);
  }

  /** Service statistics: the caller checked as IoT Hub checks it, then the hub's count. */
  private serveStatistics(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    hubSegment: string,
  ): void {
    const hub = decodePathSegment(hubSegment);
    if (hub === undefined) {
      this.statistics.push({ hub: hubSegment, status: 400 });
      this.protocol.send(response, 400, this.protocol.errorBody(400004), 'ArgumentInvalid');
      return;
    }
    const refused = this.protocol.refuseCaller(url, header(request, 'authorization'), hub);
    if (refused) {
      this.statistics.push({ hub, status: refused.status });
      this.protocol.send(response, refused.status, refused.body, refused.name);
      return;
    }
    const answer = this.options.connectedDevices?.(hub) ?? 0;
    if (typeof answer === 'number') {
      this.statistics.push({ hub, status: 200 });
      this.protocol.send(response, 200, JSON.stringify({ connectedDeviceCount: answer }));
      return;
    }
    this.statistics.push({ hub, status: answer.httpStatus });
    this.protocol.sendVerbatim(response, answer);
  }
}
