import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, parseSyncCliConfig } from "../../lib/config.js";

const valid = {
  MONGODB_URI: "mongodb://127.0.0.1:27017/app",
  CLERK_WEBHOOK_SIGNING_SECRET: "whsec_dGVzdHNlY3JldA==",
  INNGEST_EVENT_KEY: "event-key",
  INNGEST_SIGNING_KEY: "signkey-prod-abc",
  CLERK_SECRET_KEY: "sk_test_abc",
  CLERK_PUBLISHABLE_KEY: "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("parses a complete environment with defaults", () => {
    const config = parseConfig(valid);
    expect(config.mongo).toEqual({ uri: valid.MONGODB_URI, dbName: undefined, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 });
    expect(config.webhook.maxBodyBytes).toBe(524_288);
    expect(config.inngest).toMatchObject({ appId: "clerk-mongo-sync", isDev: false, eventKey: "event-key" });
  });

  it("names every missing or malformed variable at once", () => {
    const problems = problemsOf({ MONGODB_URI: "postgres://nope", CLERK_WEBHOOK_SIGNING_SECRET: "secret", CLERK_SECRET_KEY: "sk_test_x", CLERK_PUBLISHABLE_KEY: "pk_test_x" });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^MONGODB_URI must start with mongodb:\/\//),
        expect.stringMatching(/^CLERK_WEBHOOK_SIGNING_SECRET must be a Svix signing secret/),
        expect.stringMatching(/^INNGEST_EVENT_KEY is required unless INNGEST_DEV=1/),
        expect.stringMatching(/^INNGEST_SIGNING_KEY is required unless INNGEST_DEV=1/),
      ]),
    );
  });

  it("says what a missing variable is for", () => {
    expect(problemsOf({ ...valid, MONGODB_URI: undefined })).toEqual([expect.stringMatching(/^MONGODB_URI is required/)]);
  });

  it("needs no Inngest keys in dev mode", () => {
    const config = parseConfig({ ...valid, INNGEST_EVENT_KEY: undefined, INNGEST_SIGNING_KEY: "", INNGEST_DEV: "1" });
    expect(config.inngest).toMatchObject({ isDev: true, eventKey: undefined, signingKey: undefined });
  });

  it("refuses Inngest dev mode in production, where it would turn off request signing", () => {
    const production = { ...valid, CLERK_AUTHORIZED_PARTIES: "https://app.example.com" };
    expect(problemsOf({ ...production, NODE_ENV: "production", INNGEST_DEV: "1" })).toEqual([
      expect.stringMatching(/^INNGEST_DEV must not be enabled in production/),
    ]);
    expect(problemsOf({ ...production, VERCEL_ENV: "production", INNGEST_DEV: "true" })).toHaveLength(1);
  });

  it("requires the frontend origins (authorized parties) in production", () => {
    expect(problemsOf({ ...valid, NODE_ENV: "production" })).toEqual([expect.stringMatching(/^CLERK_AUTHORIZED_PARTIES is required in production/)]);
    const config = parseConfig({ ...valid, CLERK_AUTHORIZED_PARTIES: "https://app.example.com, http://localhost:5173" });
    expect(config.clerk.authorizedParties).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(problemsOf({ ...valid, CLERK_AUTHORIZED_PARTIES: "not a url" })).toEqual([expect.stringMatching(/^CLERK_AUTHORIZED_PARTIES/)]);
  });

  it("bounds numeric settings", () => {
    expect(problemsOf({ ...valid, MONGODB_MAX_POOL_SIZE: "0" })).toEqual([expect.stringMatching(/^MONGODB_MAX_POOL_SIZE/)]);
    expect(problemsOf({ ...valid, WEBHOOK_MAX_BODY_BYTES: "lots" })).toEqual([expect.stringMatching(/^WEBHOOK_MAX_BODY_BYTES/)]);
  });

  it("never echoes a secret's value in its messages", () => {
    const problems = problemsOf({ ...valid, CLERK_WEBHOOK_SIGNING_SECRET: "sk_live_do_not_print" });
    expect(problems.join("\n")).not.toContain("sk_live_do_not_print");
  });
});

describe("CLERK_INSTANCE_ID (the wrong-instance guard)", () => {
  it("is optional: unset, every instance is accepted", () => {
    expect(parseConfig(valid).clerk.instanceId).toBeUndefined();
    expect(parseConfig({ ...valid, CLERK_INSTANCE_ID: "" }).clerk.instanceId).toBeUndefined();
  });

  it("takes a Clerk instance id, trimmed, and refuses anything else by name", () => {
    expect(parseConfig({ ...valid, CLERK_INSTANCE_ID: " ins_2abcDEF123 " }).clerk.instanceId).toBe("ins_2abcDEF123");
    expect(problemsOf({ ...valid, CLERK_INSTANCE_ID: "app_2abc" })).toEqual([expect.stringMatching(/^CLERK_INSTANCE_ID must be a Clerk instance id \(ins_/)]);
  });
});

describe("the status's Inngest probe", () => {
  it("probes the configured Event API: INNGEST_BASE_URL, the dev server in dev mode, else Inngest cloud", () => {
    expect(parseConfig(valid).status.inngest).toEqual({ eventApiUrl: "https://inn.gs/", probeTimeoutMs: 2_000, stalledAfterMs: 10 * 60_000 });
    expect(parseConfig({ ...valid, INNGEST_DEV: "1" }).status.inngest?.eventApiUrl).toBe("http://localhost:8288/");
    expect(
      parseConfig({ ...valid, INNGEST_BASE_URL: "https://inngest.internal.example/", STATUS_INNGEST_PROBE_TIMEOUT_MS: "500", STATUS_INNGEST_STALLED_MINUTES: "30" }).status.inngest,
    ).toEqual({ eventApiUrl: "https://inngest.internal.example/", probeTimeoutMs: 500, stalledAfterMs: 30 * 60_000 });
    expect(problemsOf({ ...valid, STATUS_INNGEST_PROBE_TIMEOUT_MS: "50" })).toEqual([expect.stringMatching(/^STATUS_INNGEST_PROBE_TIMEOUT_MS /)]);
  });

  it("is skipped by `npm run sync -- status` when its environment names no Inngest", () => {
    const cli = { MONGODB_URI: valid.MONGODB_URI, CLERK_SECRET_KEY: valid.CLERK_SECRET_KEY };
    expect(parseSyncCliConfig(cli).status.inngest).toBeUndefined();
    expect(parseSyncCliConfig({ ...cli, INNGEST_EVENT_KEY: "event-key" }).status.inngest?.eventApiUrl).toBe("https://inn.gs/");
  });
});

