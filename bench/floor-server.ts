/**
 * The floor for `GET /api/me`: a bare `node:http` server doing the same single lookup by
 * `_id` on the same database, with nothing else (no auth, rate limit, logger, Mongoose
 * document layer). The lookup is the raw MongoDB driver's `findOne({ _id })` on the
 * collection behind the project's own connection (`connectMongo`, same pool settings as
 * the API). The user id comes from the `x-user-id` header.
 *
 * Env: MONGODB_URI, MONGODB_DB_NAME, PORT.
 */
import { createServer } from "node:http";
import { connectMongo } from "../lib/db/connection.js";

const { MONGODB_URI, MONGODB_DB_NAME, PORT } = process.env;
if (!MONGODB_URI || !MONGODB_DB_NAME || !PORT) throw new Error("floor-server needs MONGODB_URI, MONGODB_DB_NAME and PORT");

const connection = await connectMongo({ uri: MONGODB_URI, dbName: MONGODB_DB_NAME, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 });
const users = connection.db!.collection<{ _id: string }>("users");

const server = createServer((req, res) => {
  const id = req.headers["x-user-id"];
  if (typeof id !== "string") {
    res.writeHead(400).end();
    return;
  }
  users.findOne({ _id: id }).then(
    (user) => {
      res.writeHead(user ? 200 : 404, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(user));
    },
    (error: unknown) => {
      console.error(error);
      res.writeHead(500).end();
    },
  );
});

server.listen(Number(PORT), "localhost", () => console.log(`floor serving on http://localhost:${PORT}`));

// Lookups still queued when the load stops would only fail noisily on a closing pool: just go.
process.on("SIGTERM", () => process.exit(0));
