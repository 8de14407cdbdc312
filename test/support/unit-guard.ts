import net from "node:net";

/**
 * The unit project's promise: no database, no server, no port. A test that opens a socket
 * (listens, or connects: MongoDB, Redis, NATS, HTTP) fails here with where it belongs,
 * instead of passing on one machine and hanging on another.
 */
const refuse = (what: string) =>
  function refused(): never {
    throw new Error(`a unit test may not ${what}: list the file under the integration project instead (vitest.config.ts)`);
  };
net.Server.prototype.listen = refuse("listen on a port");
net.Socket.prototype.connect = refuse("open a connection");
