import http from 'node:http';
import {
  StandInHubProtocol,
  StandInVerbatimAnswer,
  decodePathSegment,
  header,
  parseJson,
} from './StandInHubProtocol';

/** What the twin query answers for one page: the hub's twins (the stand-in pages them), or a failure. */
export type StandInQueryAnswer =
  /** Every device twin of the hub, as IoT Hub returns them; the stand-in cuts the page. */
  | readonly unknown[]
  /** 429 429001 ThrottlingException (with Retry-After when `throttleRetryAfterSeconds` is set). */
  | 'throttled'
  /** Anything else, verbatim, as for direct methods. */
  | StandInVerbatimAnswer;

/** Called for each query page: the hub, and the continuation token the caller sent, if any. */
export type StandInTwinProvider = (
  hub: string,
  page: { continuation?: string },
) => StandInQueryAnswer | Promise<StandInQueryAnswer>;

/** A twin query page as the stand-in received and answered it. */
export interface StandInQueryCall {
  hub: string;
  /** The raw request path and query, as sent. */
  path: string;
  /** The query string of the body, or the raw body when it is not `{"query": …}`. */
  query: unknown;
  /** The `x-ms-continuation` header, when sent. */
  continuation?: string;
  /** The `x-ms-max-item-count` header, when sent. */
  maxItemCount?: string;
  authorizationPresent: boolean;
  authorization?: string;
  /** When the stand-in received it, by its clock (`options.now`). */
  at: string;
  /** The HTTP status the stand-in answered. */
  status: number;
  /** Twins in the page answered (0 when it was not a page). */
  twins: number;
}

export interface StandInTwinQueryOptions {
  /** Answers the twin query from these twins. */
  twins: StandInTwinProvider;
  /**
   * The most twins a page holds, whatever `x-ms-max-item-count` asks ("the service may use a
   * different value"); so a few twins make several pages in tests.
   */
  maxTwinsPerPage?: number;
}

/** Where IoT Hub serves the twin query (`/devices/query`), after the hub's name. */
export const TWIN_QUERY_PATH = /^\/([^/]+)\/devices\/query\/?$/;
/** The one query the stand-in answers: every device twin. */
const TWIN_QUERY = /^\s*select\s+\*\s+from\s+devices\s*$/i;
/** IoT Hub's page size when the caller names none. */
const DEFAULT_PAGE_SIZE = 100;

/**
 * The stand-in hub's twin query, IoT Hub's "Query - Get Twins": `{"query": "SELECT * FROM
 * devices"}`, paged by `x-ms-max-item-count` and `x-ms-continuation` as IoT Hub pages, each page
 * a JSON array of twins with `x-ms-item-type: twin`.
 */
export class StandInTwinQuery {
  /** Twin query calls, one per page asked for. */
  readonly queries: StandInQueryCall[] = [];

  constructor(
    private readonly protocol: StandInHubProtocol,
    private readonly options: StandInTwinQueryOptions,
  ) {}

  /** One page: IoT Hub's checks in its order, then one page of the provider's twins. */
  async serve(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    text: string,
    hubSegment: string,
  ): Promise<void> {
    const protocol = this.protocol;
    const hub = decodePathSegment(hubSegment)?.toLowerCase();
    const body = parseJson(text);
    const queryText =
      typeof body === 'object' && body !== null && 'query' in body
        ? (body as { query: unknown }).query
        : text;
    const authorization = request.headers.authorization;
    const continuation = header(request, 'x-ms-continuation');
    const maxItemCount = header(request, 'x-ms-max-item-count');
    const call: StandInQueryCall = {
      hub: hub ?? hubSegment,
      path: request.url ?? '',
      query: queryText,
      ...(continuation !== undefined ? { continuation } : {}),
      ...(maxItemCount !== undefined ? { maxItemCount } : {}),
      authorizationPresent: authorization !== undefined && authorization !== '',
      ...(authorization ? { authorization } : {}),
      at: protocol.now().toISOString(),
      status: 0,
      twins: 0,
    };
    this.queries.push(call);
    const answer = (status: number, errorBody: string, name?: string) => {
      call.status = status;
      protocol.send(response, status, errorBody, name);
    };

    if (hub === undefined) {
      answer(400, protocol.errorBody(400004, 'The request path is not valid.'), 'ArgumentInvalid');
      return;
    }
    const refused = protocol.refuseCaller(url, authorization, hub);
    if (refused) {
      answer(refused.status, refused.body, refused.name);
      return;
    }
    if (typeof queryText !== 'string' || !TWIN_QUERY.test(queryText)) {
      answer(
        400,
        protocol.errorBody(400004, 'The stand-in answers only {"query": "SELECT * FROM devices"}.'),
        'ArgumentInvalid',
      );
      return;
    }
    const skip = continuation === undefined ? 0 : skipOf(continuation);
    if (skip === undefined) {
      answer(
        400,
        protocol.errorBody(400004, 'The continuation token is not valid.'),
        'ArgumentInvalid',
      );
      return;
    }

    let result: StandInQueryAnswer;
    try {
      result = await this.options.twins(hub, continuation !== undefined ? { continuation } : {});
    } catch {
      answer(500, protocol.errorBody(500001, 'The stand-in twin provider failed.'), 'ServerError');
      return;
    }
    if (result === 'throttled') {
      call.status = 429;
      protocol.send(
        response,
        429,
        protocol.errorBody(429001, 'The request has been throttled.'),
        'ThrottlingException',
        protocol.throttleHeaders(),
      );
      return;
    }
    if (!Array.isArray(result)) {
      const raw = result as StandInVerbatimAnswer;
      call.status = raw.httpStatus;
      protocol.sendVerbatim(response, raw);
      return;
    }
    const asked = Number(maxItemCount);
    const size = Math.min(
      Number.isInteger(asked) && asked > 0 ? asked : DEFAULT_PAGE_SIZE,
      this.options.maxTwinsPerPage ?? Number.POSITIVE_INFINITY,
    );
    const twins = (result as readonly unknown[]).slice(skip, skip + size);
    const more = skip + size < (result as readonly unknown[]).length;
    call.status = 200;
    call.twins = twins.length;
    protocol.send(response, 200, JSON.stringify(twins), undefined, {
      'x-ms-item-type': 'twin',
      ...(more ? { 'x-ms-continuation': continuationOf(skip + size) } : {}),
    });
  }
}

/** An opaque-looking token, as IoT Hub's are: base64 of where the next page starts. */
function continuationOf(skip: number): string {
  return Buffer.from(JSON.stringify({ skip })).toString('base64');
}

function skipOf(token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { skip?: unknown };
    return Number.isInteger(parsed.skip) && (parsed.skip as number) >= 0
      ? (parsed.skip as number)
      : undefined;
  } catch {
    return undefined;
  }
}
