import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient } from "../../../inngest/client.js";
import { createLogger } from "../../../lib/logger.js";
import { createClerkWebhookHandler } from "../../../lib/webhooks/clerk-webhook-handler.js";
import { createClerkWebhookVerifier } from "../../../lib/webhooks/verify-clerk-webhook.js";
import { withDeadline } from "../../../lib/with-deadline.js";
import { clerkEnvelope, clerkUser, signDelivery, testSigningSecret } from "../../support/clerk-fixtures.js";
import { serveHandler } from "../../support/http.js";
import { testInngestConfig } from "../../support/inngest.js";
import { startInngestEventApi } from "../../support/inngest-event-api.js";

let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let guarded: Awaited<ReturnType<typeof serveHandler>>;
let unguarded: Awaited<ReturnType<typeof serveHandler>>;
/** Every line the guarded endpoint logged (pino JSON), to check what an operator is told. */
const logLines: { level: number; msg: string; [key: string]: unknown }[] = [];

function endpoint(expectedInstanceId: string | undefined, logger = createLogger("silent")) {
  const inngest = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, createLogger("silent"));
  return serveHandler(
    createClerkWebhookHandler({
      verify: createClerkWebhookVerifier(testSigningSecret),
      sendEvent: (event) => withDeadline(inngest.send(event), 3_000, "sending to Inngest"),
      maxBodyBytes: 65_536,
      expectedInstanceId,
      logger,
    }),
  );
}

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  const logger = createLogger("info", { write: (line: string) => void logLines.push(JSON.parse(line) as (typeof logLines)[number]) });
  [guarded, unguarded] = await Promise.all([endpoint("ins_prod", logger), endpoint(undefined)]);
});
afterAll(async () => {
  await Promise.all([guarded.close(), unguarded.close()]);
  await eventApi.close();
});
beforeEach(() => {
  eventApi.received.length = 0;
  logLines.length = 0;
});

let counter = 0;
/** A user.updated envelope as Clerk sends it, from `instanceId` (or with none), signed with the endpoint's secret. */
function userUpdatedFrom(instanceId: string | undefined) {
  const { instance_id: _dropped, ...envelope } = clerkEnvelope("user.updated", clerkUser({ id: "user_1", updatedAt: Date.now() }), Date.now());
  counter += 1;
  return signDelivery(JSON.stringify(instanceId === undefined ? envelope : { ...envelope, instance_id: instanceId }), { id: `msg_instance_${counter}` });
}
const post = (server: { url: string }, delivery: { body: string; headers: Record<string, string> }) =>
  fetch(`${server.url}/api/webhooks/clerk`, { method: "POST", body: delivery.body, headers: delivery.headers });

describe("POST /api/webhooks/clerk with CLERK_INSTANCE_ID: events from another Clerk instance are refused", () => {
  it("refuses a signed delivery from another instance: 403 problem+json, Svix told not to retry, nothing sent to Inngest, one error line with both ids", async () => {
    const response = await post(guarded, userUpdatedFrom("ins_dev"));
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("webhook-delivery")).toBe("abort-message");
    expect(await response.json()).toMatchObject({ type: "/problems/webhook-wrong-instance", status: 403, detail: expect.stringContaining("ins_dev") });
    expect(eventApi.received).toHaveLength(0);

    const errors = logLines.filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ instanceId: "ins_dev", expectedInstanceId: "ins_prod", svixId: expect.stringMatching(/^msg_instance_/), type: "user.updated" });
    expect(JSON.stringify(logLines)).not.toContain(testSigningSecret.slice("whsec_".length));
  });

  it("refuses a delivery whose envelope names no instance while CLERK_INSTANCE_ID is set", async () => {
    const response = await post(guarded, userUpdatedFrom(undefined));
    expect(response.status).toBe(403);
    expect(response.headers.get("webhook-delivery")).toBe("abort-message");
    expect(eventApi.received).toHaveLength(0);
    expect(logLines.filter((line) => line.level >= 50)).toEqual([expect.objectContaining({ instanceId: null, expectedInstanceId: "ins_prod" })]);
  });

  it("forwards a delivery from the configured instance with its instance_id in data", async () => {
    const delivery = userUpdatedFrom("ins_prod");
    expect((await post(guarded, delivery)).status).toBe(200);
    expect(eventApi.received).toEqual([expect.objectContaining({ name: "clerk/user.updated", id: delivery.headers["svix-id"], data: expect.objectContaining({ id: "user_1", instance_id: "ins_prod" }) })]);
    expect(logLines.filter((line) => line.level >= 50)).toHaveLength(0);
  });

  it("checks the signature first: a delivery signed with another secret is 401, whatever instance it names", async () => {
    const { body } = userUpdatedFrom("ins_dev");
    const forged = signDelivery(body, { id: "msg_forged", secret: `whsec_${Buffer.from("another endpoint's secret").toString("base64")}` });
    const response = await post(guarded, forged);
    expect(response.status).toBe(401);
    expect(response.headers.get("webhook-delivery")).toBeNull();
  });
});

describe("POST /api/webhooks/clerk without CLERK_INSTANCE_ID: nothing changes", () => {
  it("forwards deliveries from any instance, or naming none, each with what it named", async () => {
    expect((await post(unguarded, userUpdatedFrom("ins_dev"))).status).toBe(200);
    expect((await post(unguarded, userUpdatedFrom(undefined))).status).toBe(200);
    expect(eventApi.received.map((event) => event.data.instance_id)).toEqual(["ins_dev", undefined]);
  });
});
