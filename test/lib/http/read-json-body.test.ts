import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ProblemError, sendProblem } from "../../../lib/http/problem.js";
import { parseContentType, readJsonBody } from "../../../lib/http/read-json-body.js";
import { sendJson } from "../../../lib/http/send-json.js";
import { rawRequest, serveHandler } from "../../support/http.js";

/** readJsonBody behind a real node:http server, as the API routes use it, with a short body deadline. */
const schema = z.object({ name: z.string() }).strict();
const timeoutMs = 300;
let server: Awaited<ReturnType<typeof serveHandler>>;
beforeAll(async () => {
  server = await serveHandler(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      sendJson(res, 200, await readJsonBody(req, schema, 1_024, { timeoutMs }));
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      sendProblem(res, error.key, error.details);
    }
  });
});
afterAll(() => server.close());

const head = (contentLength: number | null) => [
  "POST /body HTTP/1.1",
  `Host: ${new URL(server.url).host}`,
  "Content-Type: application/json",
  ...(contentLength === null ? ["Transfer-Encoding: chunked"] : [`Content-Length: ${contentLength}`]),
  "",
];

describe("readJsonBody: a body that is too large or does not arrive", () => {
  it("answers 408 with Connection: close when the declared body stalls, within the deadline", async () => {
    const started = performance.now();
    const answer = await rawRequest(new URL(server.url), [...head(100), '{"name":']);
    const elapsed = performance.now() - started;
    expect(answer.statusLine).toBe("HTTP/1.1 408 Request Timeout");
    expect(answer.headers.connection).toBe("close");
    expect(answer.closedByServer).toBe(true);
    expect(JSON.parse(answer.body)).toMatchObject({ type: "/problems/request-timeout", status: 408 });
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(elapsed).toBeLessThan(timeoutMs + 1_500);
  });

  it("answers 408 to a client trickling bytes: the deadline is for the whole body, not between chunks", async () => {
    const url = new URL(server.url);
    const { connect } = await import("node:net");
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.write(`${head(40).join("\r\n")}\r\n`);
    const trickle = setInterval(() => socket.write(" "), 50);
    try {
      await expect.poll(() => Buffer.concat(received).toString("utf8"), { timeout: 3_000 }).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it("answers 413 at once to a declared Content-Length over the cap, before any byte of the body", async () => {
    const started = performance.now();
    const answer = await rawRequest(new URL(server.url), [...head(1_000_000), ""]);
    expect(answer.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
    expect(answer.headers.connection).toBe("close");
    expect(performance.now() - started).toBeLessThan(timeoutMs);
  });

  it("a client that does send its large body still reads the 413, not a reset connection", async () => {
    for (const size of [2_000, 200_000, 4_000_000]) {
      const response = await fetch(`${server.url}/body`, { method: "POST", headers: { "content-type": "application/json" }, body: `"${"x".repeat(size)}"` });
      expect(response.status).toBe(413);
      expect(((await response.json()) as { type: string }).type).toBe("/problems/payload-too-large");
    }
  });

  it("answers 413 to a chunked body that grows past the cap", async () => {
    const chunk = "x".repeat(800);
    const chunked = `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(3);
    const answer = await rawRequest(new URL(server.url), [...head(null), `${chunked}0\r\n\r\n`]);
    expect(answer.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
  });

  it("still reads a body that arrives in pieces within the deadline", async () => {
    const response = await fetch(`${server.url}/body`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        async start(controller) {
          for (const piece of ['{"na', 'me":"A', 'da"}']) {
            controller.enqueue(new TextEncoder().encode(piece));
            await new Promise((resolve) => setTimeout(resolve, 40));
          }
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: "Ada" });
  });
});

describe("parseContentType", () => {
  it.each([
    ["application/json", { mediaType: "application/json", charset: undefined }],
    ["Application/JSON; Charset=UTF-8", { mediaType: "application/json", charset: "utf-8" }],
    ['application/json; foo=bar; charset="utf-16"', { mediaType: "application/json", charset: "utf-16" }],
    [undefined, { mediaType: undefined, charset: undefined }],
  ])("%s", (header, expected) => {
    expect(parseContentType(header)).toEqual(expected);
  });
});
