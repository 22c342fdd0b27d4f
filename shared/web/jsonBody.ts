/**
 * A request body as JSON, read up to `limit` bytes, for the HTTP functions that take one: the
 * body is streamed (`enableHttpStream`), so a body over the limit is refused as soon as it goes
 * past it, whatever its Content-Length says (that is only what the caller claims). Bytes that are
 * not UTF-8 are refused, not read as U+FFFD.
 */
export type JsonBody = { json: unknown } | { problem: { status: 413 | 400; detail: string } };

export async function readJsonBody(
  request: { headers: { get(name: string): string | null }; body: unknown },
  limit: number,
  /** What the 400 says a body should look like. */
  shape: string,
): Promise<JsonBody> {
  const tooLarge = {
    problem: { status: 413 as const, detail: `the body must be at most ${limit} bytes` },
  };
  if (Number(request.headers.get('content-length')) > limit) return tooLarge;
  const chunks: Uint8Array[] = [];
  if (request.body) {
    const reader = (request.body as ReadableStream<Uint8Array>).getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        return tooLarge;
      }
      chunks.push(value);
    }
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { problem: { status: 400, detail: `the body must be JSON: ${shape}` } };
  }
}
