/**
 * `NATS_URL` → connection options. The v3 client ignores credentials written in a server
 * URL (`nats://user:pass@host` connects without them), so they are lifted out here into
 * `user`/`pass` (or `token` for `nats://token@host`), and the servers it receives, like
 * everything we log, never contain them.
 */
export interface NatsTarget {
  /** `host:port` of each server, credentials removed. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Set when a server URL uses `tls://`: the client then insists on TLS. */
  tls?: Record<string, never>;
  /** The URL with any credentials removed: safe to log. */
  redacted: string;
}

class InvalidNatsUrlError extends Error {
  override readonly name = "InvalidNatsUrlError";
}

const schemes = new Set(["nats:", "tls:"]);

/** Parses a comma-separated list of `nats://` or `tls://` URLs. Never echoes a credential in an error. */
export function parseNatsUrl(url: string): NatsTarget {
  const entries = url
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new InvalidNatsUrlError("NATS URL is empty");

  const target: NatsTarget = { servers: [], redacted: "" };
  const redacted: string[] = [];
  entries.forEach((entry, index) => {
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new InvalidNatsUrlError(`NATS URL #${index + 1} is not a URL (expected nats://host:4222)`);
    }
    if (!schemes.has(parsed.protocol)) {
      throw new InvalidNatsUrlError(`NATS URL #${index + 1} must start with nats:// or tls://, not ${parsed.protocol}//`);
    }
    if (!parsed.hostname) throw new InvalidNatsUrlError(`NATS URL #${index + 1} has no host`);
    if (parsed.protocol === "tls:") target.tls = {};
    if (parsed.username && target.user === undefined && target.token === undefined) {
      const name = decodeURIComponent(parsed.username);
      if (parsed.password) {
        target.user = name;
        target.pass = decodeURIComponent(parsed.password);
      } else {
        target.token = name;
      }
    }
    target.servers.push(parsed.host);
    redacted.push(`${parsed.protocol}//${parsed.host}`);
  });
  target.redacted = redacted.join(",");
  return target;
}

/** The part of the client's connection options a `NatsTarget` determines (nothing to log here). */
export function connectionOptionsFor(target: NatsTarget) {
  return {
    servers: target.servers,
    ...(target.user !== undefined && { user: target.user, pass: target.pass }),
    ...(target.token !== undefined && { token: target.token }),
    ...(target.tls && { tls: target.tls }),
  };
}
