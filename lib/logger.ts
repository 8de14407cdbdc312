import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Credentials are redacted wherever they could appear, and
 * callers log ids (Svix id, user id, event id), never whole webhook bodies.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "clerk-mongo-sync" },
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers.cookie",
          'req.headers["svix-signature"]',
          "headers.authorization",
          "headers.cookie",
          'headers["svix-signature"]',
          "*.token",
          "*.secret",
          "*.signingSecret",
          "*.signingKey",
          "*.eventKey",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
