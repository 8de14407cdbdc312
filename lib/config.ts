import { z } from "zod";

/**
 * The one place that reads `process.env`. Every other module receives the typed
 * `Config` (or the slice it needs), so tests inject configuration instead of
 * mutating the environment.
 */

const booleanFlag = z
  .enum(["1", "0", "true", "false"])
  .transform((value) => value === "1" || value === "true");

const optionalSecret = z.string().trim().min(1).optional();

/** A placeholder sender: fine for the development mailer, refused with SMTP in production. */
export const defaultEmailFrom = "Clerk Mongo Sync <no-reply@example.com>";

const envShape = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  VERCEL_ENV: z.enum(["development", "preview", "production"]).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  MONGODB_URI: z
    .string({ error: "is required (a mongodb:// or mongodb+srv:// connection string)" })
    .regex(/^mongodb(\+srv)?:\/\//, "must start with mongodb:// or mongodb+srv://"),
  MONGODB_DB_NAME: z.string().min(1).optional(),
  MONGODB_MAX_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  MONGODB_SERVER_SELECTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  MONGODB_MAX_IDLE_TIME_MS: z.coerce.number().int().min(1_000).max(600_000).default(5_000),

  CLERK_WEBHOOK_SIGNING_SECRET: z
    .string({ error: "is required (Clerk dashboard → Webhooks → Signing Secret)" })
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, "must be a Svix signing secret starting with whsec_"),
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(5_242_880).default(524_288),

  CLERK_SECRET_KEY: z
    .string({ error: "is required (Clerk dashboard → API keys → Secret key)" })
    .regex(/^sk_(test|live)_\S+$/, "must be a Clerk secret key (sk_test_… or sk_live_…)"),
  CLERK_PUBLISHABLE_KEY: z
    .string({ error: "is required (Clerk dashboard → API keys → Publishable key)" })
    .regex(/^pk_(test|live)_\S+$/, "must be a Clerk publishable key (pk_test_… or pk_live_…)"),
  CLERK_JWT_KEY: z
    .string()
    .transform((pem) => pem.replace(/\\n/g, "\n"))
    .refine((pem) => pem.includes("-----BEGIN PUBLIC KEY-----"), "must be a PEM public key (Clerk dashboard → API keys → JWKS public key)")
    .optional(),
  CLERK_AUTHORIZED_PARTIES: z
    .string()
    .transform((list) => list.split(",").map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url({ error: "must be a comma-separated list of origins (https://app.example.com)" })))
    .optional(),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .transform((list) => list.split(",").map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url({ error: "must be a comma-separated list of origins (https://app.example.com)" })))
    .optional(),
  CLERK_API_URL: z.url().default("https://api.clerk.com"),
  // Not a secret: Clerk names it in every webhook envelope (`instance_id`).
  CLERK_INSTANCE_ID: z
    .string()
    .trim()
    .regex(/^ins_[A-Za-z0-9]+$/, "must be a Clerk instance id (ins_…, the `instance_id` of any webhook this instance sends)")
    .optional(),
  CLERK_CLOCK_SKEW_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),

  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
  RATE_LIMIT_PER_USER_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(300),
  API_MAX_BODY_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  BODY_READ_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  LAST_SEEN_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),

  RECONCILE_CRON: z.string().min(9).default("0 * * * *"),
  RECONCILE_MAX_CLERK_REQUESTS_PER_10S: z.coerce.number().int().min(1).max(900).default(50),
  PURGE_CRON: z.string().min(9).default("30 3 * * *"),
  DELETED_USER_RETENTION_DAYS: z.coerce.number().int().min(0).max(3_650).default(30),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  OUTBOX_CRON: z.string().min(9).default("*/5 * * * *"),
  ACTIVITY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  ACTIVITY_PURGE_CRON: z.string().min(9).default("45 3 * * *"),

  STATUS_WEBHOOK_DEGRADED_MINUTES: z.coerce.number().int().min(1).max(100_000).default(360),
  STATUS_WEBHOOK_STALLED_MINUTES: z.coerce.number().int().min(1).max(100_000).default(1_440),
  STATUS_OUTBOX_STALLED_MINUTES: z.coerce.number().int().min(1).max(100_000).default(30),
  STATUS_RECONCILE_STALLED_MINUTES: z.coerce.number().int().min(1).max(100_000).default(180),
  STATUS_FAILED_SYNCS_DEGRADED: z.coerce.number().int().min(1).max(1_000_000).default(10),
  STATUS_INNGEST_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(2_000),
  STATUS_INNGEST_STALLED_MINUTES: z.coerce.number().int().min(1).max(100_000).default(10),

  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/[^\s,]+(\s*,\s*(nats|tls):\/\/[^\s,]+)*$/, "must be one or more comma-separated nats:// or tls:// URLs")
    .optional(),
  NATS_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(2_000),
  NATS_STREAM_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3_650).default(7),
  NATS_STREAM_MAX_MSGS: z.coerce.number().int().min(1).max(1_000_000_000).default(100_000),
  NATS_STREAM_MAX_BYTES: z.coerce.number().int().min(1_048_576).max(Number.MAX_SAFE_INTEGER).default(104_857_600),
  NATS_STREAM_DUPLICATE_WINDOW_MINUTES: z.coerce.number().int().min(1).max(10_080).default(360),
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),

  // Holds credentials: never logged (config problems name the variable, never its value).
  SMTP_URL: z
    .string()
    .trim()
    .regex(/^smtps?:\/\/\S+$/, "must be an smtp:// or smtps:// URL (smtps://user:pass@smtp.example.com:465)")
    .optional(),
  EMAIL_FROM: z
    .string()
    .trim()
    .regex(/^(?:[^<>]*<)?[^\s<>@]+@[A-Za-z0-9.-]+>?$/, 'must be an address, optionally with a name ("Acme <hello@acme.com>")')
    .default(defaultEmailFrom),

  INNGEST_APP_ID: z.string().min(1).default("clerk-mongo-sync"),
  INNGEST_EVENT_KEY: optionalSecret,
  INNGEST_SIGNING_KEY: optionalSecret,
  INNGEST_SIGNING_KEY_FALLBACK: optionalSecret,
  INNGEST_DEV: booleanFlag.optional(),
  INNGEST_BASE_URL: z.url().optional(),
  INNGEST_SEND_TIMEOUT_MS: z.coerce.number().int().min(500).max(14_000).default(10_000),
  INNGEST_API_SEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(400),
});

const envSchema = envShape
  .superRefine((env, ctx) => {
    const isProduction = env.NODE_ENV === "production" || env.VERCEL_ENV === "production";
    if (isProduction && env.INNGEST_DEV) {
      ctx.addIssue({
        code: "custom",
        path: ["INNGEST_DEV"],
        message: "must not be enabled in production: it turns off Inngest request signing",
      });
    }
    if (isProduction && !env.CLERK_AUTHORIZED_PARTIES?.length) {
      ctx.addIssue({
        code: "custom",
        path: ["CLERK_AUTHORIZED_PARTIES"],
        message: "is required in production: the frontend origins allowed to present session tokens",
      });
    }
    if (isProduction && env.SMTP_URL && env.EMAIL_FROM === defaultEmailFrom) {
      ctx.addIssue({
        code: "custom",
        path: ["EMAIL_FROM"],
        message: "is required in production when SMTP_URL is set: a sender your SMTP provider accepts",
      });
    }
    if (env.NATS_STREAM_DUPLICATE_WINDOW_MINUTES * 60_000 > env.NATS_STREAM_MAX_AGE_DAYS * 86_400_000) {
      ctx.addIssue({
        code: "custom",
        path: ["NATS_STREAM_DUPLICATE_WINDOW_MINUTES"],
        message: "must not exceed NATS_STREAM_MAX_AGE_DAYS (JetStream refuses a duplicate window longer than the max age)",
      });
    }
    if (env.INNGEST_DEV) return;
    for (const key of ["INNGEST_EVENT_KEY", "INNGEST_SIGNING_KEY"] as const) {
      if (!env[key]) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "is required unless INNGEST_DEV=1 (local Inngest dev server)",
        });
      }
    }
  });

export type Config = ReturnType<typeof toConfig>;
export type MongoConfig = Config["mongo"];
export type InngestConfig = Config["inngest"];
export type WebhookConfig = Config["webhook"];
export type ClerkConfig = Config["clerk"];
export type ApiConfig = Config["api"];
export type NatsConfig = Config["nats"];
export type EmailConfig = Config["email"];

function toConfig(env: z.infer<typeof envSchema>) {
  return {
    nodeEnv: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    mongo: {
      uri: env.MONGODB_URI,
      dbName: env.MONGODB_DB_NAME,
      maxPoolSize: env.MONGODB_MAX_POOL_SIZE,
      serverSelectionTimeoutMs: env.MONGODB_SERVER_SELECTION_TIMEOUT_MS,
      maxIdleTimeMs: env.MONGODB_MAX_IDLE_TIME_MS,
    },
    clerk: {
      secretKey: env.CLERK_SECRET_KEY,
      publishableKey: env.CLERK_PUBLISHABLE_KEY,
      jwtKey: env.CLERK_JWT_KEY,
      authorizedParties: env.CLERK_AUTHORIZED_PARTIES ?? [],
      apiUrl: env.CLERK_API_URL,
      clockSkewMs: env.CLERK_CLOCK_SKEW_MS,
      /** Unset: events from any instance are accepted. Set: both ingestion paths refuse the others. */
      instanceId: env.CLERK_INSTANCE_ID,
    },
    api: {
      /** Frontend origins allowed to call the API from a browser; by default Clerk's authorized parties. */
      corsAllowedOrigins: (env.CORS_ALLOWED_ORIGINS ?? env.CLERK_AUTHORIZED_PARTIES ?? []).map((origin) => new URL(origin).origin),
      maxBodyBytes: env.API_MAX_BODY_BYTES,
      bodyReadTimeoutMs: env.BODY_READ_TIMEOUT_MS,
      lastSeenIntervalMs: env.LAST_SEEN_INTERVAL_SECONDS * 1_000,
      rateLimit: {
        redisUrl: env.REDIS_URL,
        perUser: { points: env.RATE_LIMIT_PER_USER_PER_MINUTE, durationSeconds: 60 },
        perIp: { points: env.RATE_LIMIT_PER_IP_PER_MINUTE, durationSeconds: 60 },
      },
    },
    reconcile: {
      cron: env.RECONCILE_CRON,
      outboxCron: env.OUTBOX_CRON,
      maxClerkRequestsPer10Seconds: env.RECONCILE_MAX_CLERK_REQUESTS_PER_10S,
    },
    retention: {
      purgeCron: env.PURGE_CRON,
      deletedUserRetentionMs: env.DELETED_USER_RETENTION_DAYS * 86_400_000,
      auditRetentionMs: env.AUDIT_RETENTION_DAYS * 86_400_000,
      activityPurgeCron: env.ACTIVITY_PURGE_CRON,
      activityRetentionMs: env.ACTIVITY_RETENTION_DAYS * 86_400_000,
    },
    /** When the sync's figures turn `degraded` or `stalled` (lib/ops/assess-sync-health.ts). */
    status: statusThresholds(env),
    email: {
      /** Unset: emails are logged, not sent (development). */
      smtpUrl: env.SMTP_URL,
      from: env.EMAIL_FROM,
    },
    nats: {
      /** Unset: app events are not published to NATS (publish-app-events skips). */
      url: env.NATS_URL,
      timeoutMs: env.NATS_TIMEOUT_MS,
      stream: {
        maxAgeMs: env.NATS_STREAM_MAX_AGE_DAYS * 86_400_000,
        maxMsgs: env.NATS_STREAM_MAX_MSGS,
        maxBytes: env.NATS_STREAM_MAX_BYTES,
        duplicateWindowMs: env.NATS_STREAM_DUPLICATE_WINDOW_MINUTES * 60_000,
        replicas: env.NATS_STREAM_REPLICAS,
      },
    },
    webhook: {
      signingSecret: env.CLERK_WEBHOOK_SIGNING_SECRET,
      maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
      bodyReadTimeoutMs: env.BODY_READ_TIMEOUT_MS,
    },
    inngest: {
      appId: env.INNGEST_APP_ID,
      eventKey: env.INNGEST_EVENT_KEY,
      signingKey: env.INNGEST_SIGNING_KEY,
      signingKeyFallback: env.INNGEST_SIGNING_KEY_FALLBACK,
      isDev: env.INNGEST_DEV ?? false,
      baseUrl: env.INNGEST_BASE_URL,
      sendTimeoutMs: env.INNGEST_SEND_TIMEOUT_MS,
      /** Admin requests that send an event give up this soon (503, Retry-After): a person is waiting. */
      apiSendTimeoutMs: env.INNGEST_API_SEND_TIMEOUT_MS,
    },
  };
}

/** The subset `npm run sync` needs: MongoDB, Clerk's Backend API, and the reconciliation budget. */
const syncCliSchema = envShape.pick({
  LOG_LEVEL: true,
  MONGODB_URI: true,
  MONGODB_DB_NAME: true,
  MONGODB_MAX_POOL_SIZE: true,
  MONGODB_SERVER_SELECTION_TIMEOUT_MS: true,
  MONGODB_MAX_IDLE_TIME_MS: true,
  CLERK_SECRET_KEY: true,
  CLERK_API_URL: true,
  RECONCILE_MAX_CLERK_REQUESTS_PER_10S: true,
  STATUS_WEBHOOK_DEGRADED_MINUTES: true,
  STATUS_WEBHOOK_STALLED_MINUTES: true,
  STATUS_OUTBOX_STALLED_MINUTES: true,
  STATUS_RECONCILE_STALLED_MINUTES: true,
  STATUS_FAILED_SYNCS_DEGRADED: true,
  STATUS_INNGEST_PROBE_TIMEOUT_MS: true,
  STATUS_INNGEST_STALLED_MINUTES: true,
  // Only to find Inngest for the status's reachability probe: the CLI sends nothing to it.
  INNGEST_EVENT_KEY: true,
  INNGEST_DEV: true,
  INNGEST_BASE_URL: true,
});

export type SyncCliConfig = ReturnType<typeof parseSyncCliConfig>;

type StatusEnv = Pick<
  z.infer<typeof envShape>,
  | "STATUS_WEBHOOK_DEGRADED_MINUTES"
  | "STATUS_WEBHOOK_STALLED_MINUTES"
  | "STATUS_OUTBOX_STALLED_MINUTES"
  | "STATUS_RECONCILE_STALLED_MINUTES"
  | "STATUS_FAILED_SYNCS_DEGRADED"
  | "STATUS_INNGEST_PROBE_TIMEOUT_MS"
  | "STATUS_INNGEST_STALLED_MINUTES"
  | "INNGEST_EVENT_KEY"
  | "INNGEST_DEV"
  | "INNGEST_BASE_URL"
>;

/** Inngest cloud's Event API, and the local dev server's (the SDK's own defaults). */
const inngestCloudEventApi = "https://inn.gs/";
const inngestDevServer = "http://localhost:8288/";

function statusThresholds(env: StatusEnv) {
  // The CLI's environment may not name Inngest at all (a laptop with MongoDB and Clerk only): no probe then.
  const inngestConfigured = Boolean(env.INNGEST_BASE_URL || env.INNGEST_EVENT_KEY || env.INNGEST_DEV);
  return {
    webhookDegradedAfterMs: env.STATUS_WEBHOOK_DEGRADED_MINUTES * 60_000,
    webhookStalledAfterMs: env.STATUS_WEBHOOK_STALLED_MINUTES * 60_000,
    outboxStalledAfterMs: env.STATUS_OUTBOX_STALLED_MINUTES * 60_000,
    reconciliationStalledAfterMs: env.STATUS_RECONCILE_STALLED_MINUTES * 60_000,
    failedSyncsDegradedAt: env.STATUS_FAILED_SYNCS_DEGRADED,
    /** Where and how the status probes Inngest's Event API (lib/ops/inngest-reachability.ts); absent: not probed. */
    inngest: inngestConfigured
      ? {
          eventApiUrl: env.INNGEST_BASE_URL ?? (env.INNGEST_DEV ? inngestDevServer : inngestCloudEventApi),
          probeTimeoutMs: env.STATUS_INNGEST_PROBE_TIMEOUT_MS,
          stalledAfterMs: env.STATUS_INNGEST_STALLED_MINUTES * 60_000,
        }
      : undefined,
  };
}

export function parseSyncCliConfig(env: Record<string, string | undefined>) {
  const result = syncCliSchema.safeParse(withoutBlanks(env));
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  const value = result.data;
  return {
    logLevel: value.LOG_LEVEL,
    mongo: {
      uri: value.MONGODB_URI,
      dbName: value.MONGODB_DB_NAME,
      maxPoolSize: value.MONGODB_MAX_POOL_SIZE,
      serverSelectionTimeoutMs: value.MONGODB_SERVER_SELECTION_TIMEOUT_MS,
      maxIdleTimeMs: value.MONGODB_MAX_IDLE_TIME_MS,
    },
    clerk: { secretKey: value.CLERK_SECRET_KEY, apiUrl: value.CLERK_API_URL },
    reconcile: { maxClerkRequestsPer10Seconds: value.RECONCILE_MAX_CLERK_REQUESTS_PER_10S },
    status: statusThresholds(value),
  };
}

/** `KEY=` in a .env file means "not set", as it does for most tools. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== ""));
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

/** Parses an environment into a `Config`, naming every bad variable at once. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = envSchema.safeParse(withoutBlanks(env));
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"} ${issue.message}`),
    );
  }
  return toConfig(result.data);
}

let cached: Config | undefined;

/** The process's configuration, validated on first use and then reused. */
export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
