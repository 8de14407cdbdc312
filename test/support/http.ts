import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Serves one handler on 127.0.0.1 so tests exercise it over real HTTP. */
export async function serveHandler(handler: (req: IncomingMessage, res: ServerResponse) => unknown, { keepAliveTimeoutMs }: { keepAliveTimeoutMs?: number } = {}) {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  if (keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * One HTTP/1.1 request written on a raw socket, exactly as given (`lines` joined with CRLF):
 * what `fetch` will not send, such as a Content-Length larger than the body. Resolves with
 * the response once the server has answered and closed, or after `waitMs` with what came.
 */
export async function rawRequest(url: URL, lines: string[], { waitMs = 15_000 }: { waitMs?: number } = {}) {
  const { connect } = await import("node:net");
  return new Promise<{ statusLine: string; headers: Record<string, string>; body: string; closedByServer: boolean }>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("utf8");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...headerLines] = head.split("\r\n");
      const headers = Object.fromEntries(
        headerLines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
      );
      const raw = rest.join("\r\n\r\n");
      resolve({ statusLine, headers, body: headers["transfer-encoding"] === "chunked" ? dechunk(raw) : raw, closedByServer });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on("connect", () => socket.write(lines.join("\r\n")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => {
      closedByServer = true;
      finish();
    });
    socket.on("error", reject);
  });
}

/** The payload of a `Transfer-Encoding: chunked` body (ASCII payloads, as problem+json is here). */
function dechunk(raw: string): string {
  let body = "";
  let rest = raw;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return body;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
