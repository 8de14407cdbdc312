import type { IncomingMessage } from "node:http";

export type RawBodyResult = { kind: "ok"; body: Buffer } | { kind: "too-large"; limit: number };

/**
 * Reads the request's exact bytes, as signatures need them, up to `limit`.
 *
 * Listens to `data`/`end` rather than async iteration: on Vercel, `@vercel/node`
 * has already buffered the body and replays it through those two events only.
 * Past the limit it keeps draining without buffering, so the client receives the
 * 413 instead of a reset connection, and memory stays bounded.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<RawBodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;

    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? { kind: "too-large", limit } : { kind: "ok", body: Buffer.concat(chunks) }));
    req.on("error", reject);
  });
}
