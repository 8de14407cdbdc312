import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedEvent {
  name: string;
  id?: string;
  ts?: number;
  data: Record<string, unknown>;
}

export type EventApiMode = "accept" | "fail" | "hang";

/**
 * Inngest's Event API at its HTTP boundary, on 127.0.0.1: `POST /e/:eventKey` with a
 * JSON array of events answers `{ ids, status: 200 }`, as inn.gs and the dev server do.
 */
export async function startInngestEventApi() {
  const received: ReceivedEvent[] = [];
  const keys: string[] = [];
  let mode: EventApiMode = "accept";

  const server: Server = createServer((req, res) => {
    const match = /^\/e\/([^/?]+)/.exec(req.url ?? "");
    if (req.method !== "POST" || !match) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (mode === "hang") return;
      if (mode === "fail") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "internal error", status: 500 }));
        return;
      }
      const events = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ReceivedEvent[];
      keys.push(decodeURIComponent(match[1] ?? ""));
      received.push(...events);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ids: events.map((event, index) => event.id ?? `evt_${received.length}_${index}`), status: 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    received,
    keys,
    setMode(next: EventApiMode) {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
