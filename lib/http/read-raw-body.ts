import type { IncomingMessage } from "node:http";

export type RawBodyResult =
  | { kind: "ok"; body: Buffer }
  | { kind: "too-large"; limit: number }
  /** The body did not arrive within `timeoutMs` (a client that declared more than it sent, or stalled). */
  | { kind: "timeout"; timeoutMs: number };

export interface ReadRawBodyOptions {
  /**
   * How long the whole body may take to arrive, from the first read. A total deadline, not an
   * idle timer: a client trickling one byte every few seconds is cut off just the same.
   */
  timeoutMs?: number;
}

/** The default `timeoutMs` (BODY_READ_TIMEOUT_MS): far above what a real client needs for a capped body. */
const defaultBodyReadTimeoutMs = 10_000;

/**
 * Reads the request's exact bytes, as signatures need them, up to `limit`.
 *
 * - A `Content-Length` over the limit answers `too-large` at once, without reading a byte.
 * - A body that grows past the limit while streaming (chunked) is drained without being
 *   buffered until it ends, so the client receives the 413 instead of a reset connection,
 *   and memory stays bounded; the deadline still applies to the draining.
 * - A body that has not fully arrived after `timeoutMs` answers `timeout` (408), whatever
 *   it declared. The caller answers with `Connection: close`: the rest is never read.
 *
 * Listens to `data`/`end` rather than async iteration: on Vercel, `@vercel/node`
 * has already buffered the body and replays it through those two events only.
 */
export function readRawBody(req: IncomingMessage, limit: number, options: ReadRawBodyOptions = {}): Promise<RawBodyResult> {
  const timeoutMs = options.timeoutMs ?? defaultBodyReadTimeoutMs;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ kind: "too-large", limit });

  return new Promise((resolve, reject) => {
    let tooLarge = false;
    const chunks: Buffer[] = [];
    let size = 0;

    const finish = (result: RawBodyResult | Error) => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      // The `error` listener stays: a client that goes away after the answer is no crash.
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(tooLarge ? { kind: "too-large", limit } : { kind: "ok", body: Buffer.concat(chunks) });
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => {
      chunks.length = 0;
      finish(tooLarge ? { kind: "too-large", limit } : { kind: "timeout", timeoutMs });
      // Keep the socket's incoming bytes flowing (and discarded) until the response closes it.
      req.resume();
    }, timeoutMs);

    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}
