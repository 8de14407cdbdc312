/**
 * The floor for `GET /api/me`: a bare `node:http` server doing the same single lookup on the
 * same database and answering the same bytes, with nothing else (no auth, CORS, rate limit,
 * logger, request id, Mongoose). The lookup is the one `GET /api/me` makes: the raw MongoDB
 * driver's `findOne({ _id }, { projection })` with the resolver's projection, on the collection
 * behind the project's own connection (`connectMongo`, same pool settings as the API). The body
 * is the same view (`toUserView`) serialised the same way (`JSON.stringify`): the bench checks
 * that both answer byte-identical bodies. The user id comes from the `x-user-id` header.
 *
 * Env: MONGODB_URI, MONGODB_DB_NAME, PORT.
 */
import { createServer } from "node:http";
import { connectMongo } from "../lib/db/connection.js";
import type { UserDocument } from "../lib/users/user-model.js";
import { callerProjection } from "../lib/users/user-resolver.js";
import { toUserView } from "../lib/users/user-view.js";

const { MONGODB_URI, MONGODB_DB_NAME, PORT } = process.env;
if (!MONGODB_URI || !MONGODB_DB_NAME || !PORT) throw new Error("floor-server needs MONGODB_URI, MONGODB_DB_NAME and PORT");

const connection = await connectMongo({ uri: MONGODB_URI, dbName: MONGODB_DB_NAME, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 });
const users = connection.db!.collection<UserDocument>("users");

const server = createServer((req, res) => {
  const id = req.headers["x-user-id"];
  if (typeof id !== "string") {
    res.writeHead(400).end();
    return;
  }
  users.findOne({ _id: id }, { projection: callerProjection }).then(
    (user) => {
      res.writeHead(user ? 200 : 404, { "content-type": "application/json; charset=utf-8" });
      res.end(user ? JSON.stringify(toUserView(user)) : "null");
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
