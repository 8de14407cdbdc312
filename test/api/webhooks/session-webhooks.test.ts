import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClerkWebhookHandler } from "../../../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../../../inngest/client.js";
import { createRecordSessionFunctions } from "../../../inngest/functions/record-session.js";
import { activityModelFor } from "../../../lib/activity/activity-model.js";
import { createActivityStore } from "../../../lib/activity/activity-store.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { createClerkWebhookVerifier } from "../../../lib/webhooks/verify-clerk-webhook.js";
import { withDeadline } from "../../../lib/with-deadline.js";
import { clerkEnvelope, clerkUser, signDelivery, testSigningSecret } from "../../support/clerk-fixtures.js";
import { serveHandler } from "../../support/http.js";
import { startInngestEventApi } from "../../support/inngest-event-api.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let endpoint: Awaited<ReturnType<typeof serveHandler>>;
let inngest: ReturnType<typeof createInngestClient>;

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  inngest = createInngestClient(
    {
      appId: "clerk-mongo-sync-test",
      eventKey: "test-event-key",
      signingKey: "signkey-test-00",
      signingKeyFallback: undefined,
      isDev: false,
      baseUrl: eventApi.baseUrl,
      sendTimeoutMs: 3_000,
      apiSendTimeoutMs: 400,
    },
    createLogger("silent"),
  );
  endpoint = await serveHandler(
    createClerkWebhookHandler({
      verify: createClerkWebhookVerifier(testSigningSecret),
      sendEvent: (event) => withDeadline(inngest.send(event), 3_000, "sending to Inngest"),
      maxBodyBytes: 64 * 1024,
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

/** Clerk's documented session webhook data (SessionJSON). */
function clerkSession(options: { id: string; userId?: string; createdAt: number; updatedAt?: number; status?: string }) {
  return {
    object: "session",
    id: options.id,
    client_id: "client_1",
    user_id: options.userId ?? "user_1",
    status: options.status ?? "active",
    last_active_organization_id: null,
    actor: null,
    last_active_at: options.updatedAt ?? options.createdAt,
    expire_at: options.createdAt + 7 * 86_400_000,
    abandon_at: options.createdAt + 30 * 86_400_000,
    created_at: options.createdAt,
    updated_at: options.updatedAt ?? options.createdAt,
  };
}

const post = (delivery: { body: string; headers: Record<string, string> }) =>
  fetch(`${endpoint.url}/api/webhooks/clerk`, { method: "POST", body: delivery.body, headers: delivery.headers });

const signedSession = (type: string, data: unknown, svixId: string, timestamp = Date.now()) =>
  signDelivery(JSON.stringify(clerkEnvelope(type, data, timestamp)), { id: svixId });

describe("POST /api/webhooks/clerk: Clerk's session events", () => {
  it.each(["session.created", "session.ended", "session.removed", "session.revoked"])(
    "forwards a verified %s as clerk/<type>, keyed by the Svix id, with http_request filled from event_attributes",
    async (type) => {
      const timestamp = Date.now() - 2_000;
      const session = clerkSession({ id: "sess_1", createdAt: timestamp - 60_000, updatedAt: timestamp });
      const delivery = signedSession(type, session, `msg_${type}`, timestamp);
      const response = await post(delivery);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: "accepted", eventId: `msg_${type}` });
      expect(eventApi.received).toEqual([
        expect.objectContaining({
          name: `clerk/${type}`,
          id: `msg_${type}`,
          ts: timestamp,
          data: { ...session, http_request: { client_ip: "203.0.113.7", user_agent: "Mozilla/5.0 (test)" }, instance_id: "ins_test" },
        }),
      ]);
    },
  );

  it("forwards a session event without http_request when the envelope has no event_attributes", async () => {
    const { event_attributes: _none, ...envelope } = clerkEnvelope("session.ended", clerkSession({ id: "sess_2", createdAt: 1_000 }), Date.now());
    const response = await post(signDelivery(JSON.stringify(envelope), { id: "msg_no_attrs" }));
    expect(response.status).toBe(200);
    expect(eventApi.received).toHaveLength(1);
    expect(eventApi.received[0]?.data).not.toHaveProperty("http_request");
    expect(eventApi.received[0]?.data).toMatchObject({ id: "sess_2", user_id: "user_1" });
  });

  it("rejects a signed session event whose data lacks user_id (400), sending nothing", async () => {
    const { user_id: _missing, ...thin } = clerkSession({ id: "sess_3", createdAt: 1_000 });
    const response = await post(signedSession("session.created", thin, "msg_thin"));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { type: string; errors: string[] }).errors).toEqual([expect.stringMatching(/^user_id:/)]);
    expect(eventApi.received).toHaveLength(0);
  });

  it("rejects a session event signed with another secret (401), sending nothing", async () => {
    const body = JSON.stringify(clerkEnvelope("session.created", clerkSession({ id: "sess_4", createdAt: 1_000 }), Date.now()));
    const forged = signDelivery(body, { id: "msg_forged", secret: `whsec_${Buffer.from("attacker").toString("base64")}` });
    const response = await post(forged);
    expect(response.status).toBe(401);
    expect(eventApi.received).toHaveLength(0);
  });
});

describe("a signed session webhook, end to end", () => {
  it("a sign-in then a revocation, through the real endpoint and the real functions, become activity and user times", async () => {
    await createUserStore(db.users()).apply({ kind: "upsert", userId: "user_1", snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_1", updatedAt: 1 }))) });
    const createdAt = Date.now() - 60_000;
    expect((await post(signedSession("session.created", clerkSession({ id: "sess_e2e", createdAt }), "msg_in"))).status).toBe(200);
    const revoked = clerkSession({ id: "sess_e2e", createdAt, updatedAt: createdAt + 30_000, status: "revoked" });
    expect((await post(signedSession("session.revoked", revoked, "msg_out"))).status).toBe(200);
    const [signIn, revocation] = eventApi.received;
    expect([signIn?.name, revocation?.name]).toEqual(["clerk/session.created", "clerk/session.revoked"]);

    const functions = createRecordSessionFunctions(inngest, { activity: async () => createActivityStore(db.connection()) });
    const recordSessionCreated = functions.find((fn) => fn.id() === "record-session-created");
    const recordSessionRevoked = functions.find((fn) => fn.id() === "record-session-revoked");
    for (const [fn, event] of [
      [recordSessionCreated, signIn],
      [recordSessionRevoked, revocation],
    ] as const) {
      if (!fn) throw new Error("no such session function");
      const { error } = await new InngestTestEngine({ function: fn }).execute({ events: [event as never] });
      expect(error).toBeUndefined();
    }

    expect(await activityModelFor(db.connection()).find().sort({ at: 1 }).lean()).toEqual([
      expect.objectContaining({ _id: "sess_e2e:signed_in", at: new Date(createdAt), clientIp: "203.0.113.7", userAgent: "Mozilla/5.0 (test)" }),
      expect.objectContaining({ _id: "sess_e2e:revoked", at: new Date(createdAt + 30_000), clientIp: "203.0.113.7" }),
    ]);
    const user = await db.users().findById("user_1").lean();
    expect(user?.lastSignInAt).toEqual(new Date(createdAt));
    expect(user?.lastActiveAt).toEqual(new Date(createdAt + 30_000));
    expect(eventApi.received.slice(2).map(({ name, id }) => ({ name, id }))).toEqual([
      { name: "app/user.signed_in", id: "app/user.signed_in:sess_e2e" },
      { name: "app/user.signed_out", id: "app/user.signed_out:sess_e2e" },
    ]);
  });
});
