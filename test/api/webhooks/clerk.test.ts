import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClerkWebhookHandler } from "../../../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../../../inngest/client.js";
import { createLogger } from "../../../lib/logger.js";
import { createClerkWebhookVerifier } from "../../../lib/webhooks/verify-clerk-webhook.js";
import { withDeadline } from "../../../lib/with-deadline.js";
import { clerkEnvelope, clerkUser, clerkUserDeleted, signDelivery, testSigningSecret } from "../../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { rawRequest, serveHandler } from "../../support/http.js";
import { startInngestEventApi } from "../../support/inngest-event-api.js";

const maxBodyBytes = 16 * 1024;
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let endpoint: Awaited<ReturnType<typeof serveHandler>>;

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  const inngest = createInngestClient({
    appId: "clerk-mongo-sync-test",
    eventKey: "test-event-key",
    signingKey: "signkey-test-00",
    signingKeyFallback: undefined,
    isDev: false,
    baseUrl: eventApi.baseUrl,
    sendTimeoutMs: 3_000,
    apiSendTimeoutMs: 400,
  }, createLogger("silent"));
  endpoint = await serveHandler(
    createClerkWebhookHandler({
      verify: createClerkWebhookVerifier(testSigningSecret),
      sendEvent: (event) => withDeadline(inngest.send(event), 3_000, "sending to Inngest"),
      maxBodyBytes,
      logger: createLogger("silent"),
    }),
  );
});
afterAll(async () => {
  await endpoint.close();
  await eventApi.close();
});
beforeEach(() => {
  eventApi.received.length = 0;
  eventApi.setMode("accept");
});
afterEach(() => eventApi.setMode("accept"));

let deliveryCounter = 0;
function userCreated(overrides: { id?: string; at?: Date; timestamp?: number } = {}) {
  const timestamp = overrides.timestamp ?? Date.now();
  const body = JSON.stringify(clerkEnvelope("user.created", clerkUser({ id: overrides.id ?? "user_1", updatedAt: timestamp }), timestamp));
  deliveryCounter += 1;
  return signDelivery(body, { id: `msg_${deliveryCounter}`, at: overrides.at });
}

const post = (delivery: { body: string; headers: Record<string, string> }) =>
  fetch(`${endpoint.url}/api/webhooks/clerk`, { method: "POST", body: delivery.body, headers: delivery.headers });

async function expectProblem(response: Response, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as { type: string; status: number; title: string };
  expect(body).toMatchObject({ type, status });
  expect(eventApi.received).toHaveLength(0);
  return body;
}

describe("POST /api/webhooks/clerk: verified deliveries reach Inngest", () => {
  it("forwards a verified user.created as clerk/user.created with the Svix id as event id and the envelope timestamp as ts", async () => {
    const timestamp = Date.now() - 1_234;
    const delivery = userCreated({ timestamp });
    const response = await post(delivery);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "accepted", eventId: delivery.headers["svix-id"] });
    expect(eventApi.keys.at(-1)).toBe("test-event-key");
    expect(eventApi.received).toHaveLength(1);
    expect(eventApi.received[0]).toMatchObject({
      name: "clerk/user.created",
      id: delivery.headers["svix-id"],
      ts: timestamp,
      data: { id: "user_1", object: "user", updated_at: timestamp },
    });
  });

  it("forwards user.updated and user.deleted the same way", async () => {
    const now = Date.now();
    const updated = JSON.stringify(clerkEnvelope("user.updated", clerkUser({ id: "user_9", updatedAt: now }), now));
    const deleted = JSON.stringify(clerkEnvelope("user.deleted", clerkUserDeleted("user_9"), now + 1));
    expect((await post(signDelivery(updated, { id: "msg_upd" }))).status).toBe(200);
    expect((await post(signDelivery(deleted, { id: "msg_del" }))).status).toBe(200);
    expect(eventApi.received.map(({ name, id }) => ({ name, id }))).toEqual([
      { name: "clerk/user.updated", id: "msg_upd" },
      { name: "clerk/user.deleted", id: "msg_del" },
    ]);
    // Clerk's data, and the envelope's instance_id beside it (the Inngest side's wrong-instance guard reads it).
    expect(eventApi.received[1]?.data).toEqual({ object: "user", id: "user_9", deleted: true, instance_id: "ins_test" });
  });

  it("accepts a header carrying several signatures during a secret rotation", async () => {
    const oldSecret = `whsec_${Buffer.from("the previous secret, being rotated").toString("base64")}`;
    const body = JSON.stringify(clerkEnvelope("user.created", clerkUser({ id: "user_2", updatedAt: 5 }), Date.now()));
    const rotated = signDelivery(body, { id: "msg_rot", secret: oldSecret, extraSecrets: [testSigningSecret] });
    expect(rotated.headers["svix-signature"]?.split(" ")).toHaveLength(2);
    expect((await post(rotated)).status).toBe(200);
    expect(eventApi.received).toHaveLength(1);
  });

  it("acknowledges and ignores event types it does not handle", async () => {
    const body = JSON.stringify(clerkEnvelope("organizationDomain.created", { id: "orgdmn_1", object: "organization_domain" }, Date.now()));
    const response = await post(signDelivery(body, { id: "msg_domain" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ignored", type: "organizationDomain.created" });
    expect(eventApi.received).toHaveLength(0);
  });

  it("forwards organization and membership events, validated, with the Svix id and the envelope time", async () => {
    const at = Date.now();
    const organization = JSON.stringify(clerkEnvelope("organization.created", clerkOrganization({ id: "org_1", updatedAt: at }), at));
    expect((await post(signDelivery(organization, { id: "msg_org" }))).status).toBe(200);
    const membership = JSON.stringify(clerkEnvelope("organizationMembership.deleted", clerkMembership({ id: "orgmem_1", organizationId: "org_1", userId: "user_1", updatedAt: at }), at));
    expect((await post(signDelivery(membership, { id: "msg_mem" }))).status).toBe(200);
    expect(eventApi.received.map(({ name, id, ts }) => ({ name, id, ts }))).toEqual([
      { name: "clerk/organization.created", id: "msg_org", ts: at },
      { name: "clerk/organizationMembership.deleted", id: "msg_mem", ts: at },
    ]);
  });

  it("refuses an organization payload missing what the sync needs (400), sending nothing", async () => {
    const body = JSON.stringify(clerkEnvelope("organizationMembership.created", { id: "orgmem_1", object: "organization_membership", role: "org:admin" }, Date.now()));
    const response = await post(signDelivery(body, { id: "msg_bad_mem" }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: string[] }).errors.join(" ")).toContain("organization");
    expect(eventApi.received).toHaveLength(0);
  });
});

describe("POST /api/webhooks/clerk: every rejection sends nothing to Inngest", () => {
  it("rejects a delivery with no Svix headers (400)", async () => {
    const { body } = userCreated();
    const problem = await expectProblem(
      await post({ body, headers: { "content-type": "application/json" } }),
      400,
      "/problems/webhook-missing-headers",
    );
    expect(problem).toMatchObject({ detail: "Missing: svix-id, svix-timestamp, svix-signature." });
  });

  it.each(["svix-id", "svix-timestamp", "svix-signature"])("rejects a delivery missing %s (400)", async (header) => {
    const delivery = userCreated();
    delete delivery.headers[header];
    await expectProblem(await post(delivery), 400, "/problems/webhook-missing-headers");
  });

  it("rejects a forged signature: signed with another secret (401)", async () => {
    const body = JSON.stringify(clerkEnvelope("user.created", clerkUser({ id: "user_1", updatedAt: 1 }), Date.now()));
    const forged = signDelivery(body, { id: "msg_forged", secret: `whsec_${Buffer.from("attacker").toString("base64")}` });
    await expectProblem(await post(forged), 401, "/problems/webhook-invalid-signature");
  });

  it("rejects a tampered body (401)", async () => {
    const delivery = userCreated();
    const tampered = delivery.body.replace('"first_name":"Ada"', '"first_name":"Eve"');
    expect(tampered).not.toBe(delivery.body);
    await expectProblem(await post({ ...delivery, body: tampered }), 401, "/problems/webhook-invalid-signature");
  });

  it("rejects a replayed signature with a different svix-id (401)", async () => {
    const delivery = userCreated();
    await expectProblem(
      await post({ ...delivery, headers: { ...delivery.headers, "svix-id": "msg_other" } }),
      401,
      "/problems/webhook-invalid-signature",
    );
  });

  it("rejects a garbage signature header (401)", async () => {
    const delivery = userCreated();
    await expectProblem(
      await post({ ...delivery, headers: { ...delivery.headers, "svix-signature": "v1,bm90IGEgc2lnbmF0dXJl v2,abc" } }),
      401,
      "/problems/webhook-invalid-signature",
    );
  });

  it("rejects a stale delivery, correctly signed 10 minutes ago (401)", async () => {
    const delivery = userCreated({ at: new Date(Date.now() - 10 * 60_000) });
    await expectProblem(await post(delivery), 401, "/problems/webhook-stale-timestamp");
  });

  it("rejects a delivery dated 10 minutes in the future (401)", async () => {
    const delivery = userCreated({ at: new Date(Date.now() + 10 * 60_000) });
    await expectProblem(await post(delivery), 401, "/problems/webhook-stale-timestamp");
  });

  it("rejects a non-numeric svix-timestamp (401)", async () => {
    const delivery = userCreated();
    await expectProblem(
      await post({ ...delivery, headers: { ...delivery.headers, "svix-timestamp": "yesterday" } }),
      401,
      "/problems/webhook-stale-timestamp",
    );
  });

  it("rejects a body over the cap (413) without reading it into memory", async () => {
    const huge = JSON.stringify(clerkEnvelope("user.created", { padding: "x".repeat(maxBodyBytes * 4) }, Date.now()));
    await expectProblem(await post(signDelivery(huge, { id: "msg_huge" })), 413, "/problems/payload-too-large");
  });

  it("rejects a body over the cap sent chunked, with no content-length (413)", async () => {
    const huge = "x".repeat(maxBodyBytes * 2);
    const signed = signDelivery(huge, { id: "msg_chunked" });
    const stream = new ReadableStream({
      start(controller) {
        for (let offset = 0; offset < huge.length; offset += 4_096) controller.enqueue(new TextEncoder().encode(huge.slice(offset, offset + 4_096)));
        controller.close();
      },
    });
    const response = await fetch(`${endpoint.url}/api/webhooks/clerk`, {
      method: "POST",
      body: stream,
      headers: signed.headers,
      duplex: "half",
    } as RequestInit);
    await expectProblem(response, 413, "/problems/payload-too-large");
  });

  it("answers 413 at once to a declared Content-Length over the cap, and 408 to a body that stalls", async () => {
    const slowEndpoint = await serveHandler(
      createClerkWebhookHandler({
        verify: createClerkWebhookVerifier(testSigningSecret),
        sendEvent: async () => undefined,
        maxBodyBytes,
        bodyReadTimeoutMs: 300,
        logger: createLogger("silent"),
      }),
    );
    try {
      const url = new URL(slowEndpoint.url);
      const { headers } = userCreated();
      const head = (contentLength: number) => [
        "POST /api/webhooks/clerk HTTP/1.1",
        `Host: ${url.host}`,
        "Content-Type: application/json",
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        `Content-Length: ${contentLength}`,
        "",
      ];
      let started = performance.now();
      const tooLarge = await rawRequest(url, [...head(maxBodyBytes + 1), "{"]);
      expect(tooLarge.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
      expect(performance.now() - started).toBeLessThan(300);

      started = performance.now();
      const stalled = await rawRequest(url, [...head(2_000), '{"type":"user.created",']);
      expect(stalled.statusLine).toBe("HTTP/1.1 408 Request Timeout");
      expect(stalled.headers.connection).toBe("close");
      expect(JSON.parse(stalled.body)).toMatchObject({ type: "/problems/request-timeout" });
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(eventApi.received).toHaveLength(0);
    } finally {
      await slowEndpoint.close();
    }
  });

  it.each(["GET", "PUT", "DELETE"])("answers %s with 405 and Allow: POST", async (method) => {
    const response = await fetch(`${endpoint.url}/api/webhooks/clerk`, { method });
    await expectProblem(response, 405, "/problems/method-not-allowed");
    expect(response.headers.get("allow")).toBe("POST");
  });

  it("rejects a correctly signed body that is not JSON (400)", async () => {
    await expectProblem(await post(signDelivery("{not json", { id: "msg_bad_json" })), 400, "/problems/malformed-json");
  });

  it("rejects a signed JSON body that is not a Clerk envelope (400)", async () => {
    await expectProblem(await post(signDelivery(JSON.stringify({ hello: "world" }), { id: "msg_env" })), 400, "/problems/invalid-payload");
  });

  it("rejects a signed user event whose data lacks what the sync needs (400), listing the fields", async () => {
    const body = JSON.stringify(clerkEnvelope("user.updated", { id: "user_1", object: "user" }, Date.now()));
    const problem = (await expectProblem(await post(signDelivery(body, { id: "msg_thin" })), 400, "/problems/invalid-payload")) as unknown as {
      errors: string[];
    };
    expect(problem.errors).toEqual(expect.arrayContaining([expect.stringMatching(/^updated_at:/), expect.stringMatching(/^email_addresses:/)]));
  });
});

describe("POST /api/webhooks/clerk: when Inngest cannot take the event", () => {
  it("answers 503 so Svix retries, and accepts the redelivery once Inngest is back", async () => {
    eventApi.setMode("fail");
    const delivery = userCreated();
    const failed = await post(delivery);
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("5");
    expect(await failed.json()).toMatchObject({ type: "/problems/event-bus-unavailable" });

    eventApi.setMode("accept");
    const redelivered = await post(delivery);
    expect(redelivered.status).toBe(200);
    expect(eventApi.received.map((event) => event.id)).toEqual([delivery.headers["svix-id"]]);
  });

  it("answers 503 within its deadline when Inngest hangs", async () => {
    eventApi.setMode("hang");
    const started = Date.now();
    const response = await post(userCreated());
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
