import { z } from "zod";
import { activityViewSchema, listActivityQuerySchema } from "../activity/list-activity.js";
import { userHistoryQuerySchema } from "../audit/history-query.js";
import { userExportSchema } from "../users/user-export.js";
import { listUsersQuerySchema } from "../users/list-users.js";
import { profilePatchSchema } from "../users/profile-schemas.js";
import { userViewSchema } from "../users/user-view.js";
import { memberViewSchema, myOrganizationViewSchema, organizationViewSchema, pageQuerySchema } from "../organizations/organization-views.js";
import { problemTypes } from "./problem.js";

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers
 * validate with (JSON Schema 2020-12 is OpenAPI 3.1's schema dialect).
 */
const schema = (type: z.ZodType, io: "input" | "output" = "output") => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(type, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};

const problemSchema = {
  type: "object",
  required: ["type", "title", "status"],
  properties: {
    type: { type: "string", enum: Object.values(problemTypes).map((problem) => problem.type) },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    errors: { type: "array", items: { type: "string" } },
  },
};

const retryAfter = { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 0 } } };
const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers && { headers }),
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
const ok = (description: string, ref: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});
/**
 * What any authenticated route can answer besides its own outcomes (lib/http/route.ts): the
 * token check, rate limits, the caller's account (fetched from Clerk just in time) and roles.
 * 400 is every route's too: query strings are strict, an unknown parameter is refused.
 */
const authProblems = {
  "400": problem("`/problems/invalid-query`: an unknown, repeated or invalid query parameter; `errors` names it"),
  "401": problem("`/problems/unauthenticated`: missing, expired or invalid session token"),
  "403": problem(
    "`/problems/account-suspended` (banned or locked), `/problems/forbidden` (admin route, caller not an admin) or `/problems/origin-not-allowed` (a browser origin not allowed)",
  ),
  "404": problem("`/problems/not-found`: the caller's account exists neither here nor in Clerk"),
  "410": problem("`/problems/user-deleted`: the account was deleted"),
  "429": problem("`/problems/rate-limited`; see RateLimit-* and Retry-After", {
    ...retryAfter,
    "RateLimit-Limit": { schema: { type: "integer" } },
    "RateLimit-Remaining": { schema: { type: "integer" } },
    "RateLimit-Reset": { schema: { type: "integer" } },
  }),
  "502": problem("`/problems/clerk-unavailable`: Clerk's Backend API failed while fetching the caller's account", retryAfter),
};
/** Every authenticated route can also answer 503 (kept apart so a route can describe its own 503 instead). */
const unavailable = {
  "503": problem("`/problems/service-unavailable` (the database) or `/problems/authentication-unavailable` (the token could not be checked)", retryAfter),
};
/** Routes that read a JSON body (lib/http/read-json-body.ts). */
const bodyProblems = {
  "400": problem(
    "`/problems/invalid-payload` (the body does not match the schema; `errors` lists each problem), `/problems/malformed-json` (not JSON, or not UTF-8) or `/problems/invalid-query`",
  ),
  "408": problem("`/problems/request-timeout`: the body did not arrive within BODY_READ_TIMEOUT_MS"),
  "413": problem("`/problems/payload-too-large`: over API_MAX_BODY_BYTES (declared or sent)"),
  "415": problem("`/problems/unsupported-media-type`: Content-Type is not application/json, or its charset is not UTF-8"),
};
/** `/api/users/{id}…`: a Clerk user id, else 400 `/problems/invalid-path-parameter`. */
const userIdParameter = {
  name: "id",
  in: "path",
  required: true,
  description: "A Clerk user id",
  schema: { type: "string", pattern: "^[A-Za-z0-9_]{1,128}$" },
};
const pathProblems = {
  "400": problem("`/problems/invalid-path-parameter` (the id is not a Clerk user id) or `/problems/invalid-query` (a query parameter; `errors` names it)"),
};

/** `/api/organizations/{id}…`: a Clerk organization id, else 400 `/problems/invalid-path-parameter`. */
const organizationIdParameter = { ...userIdParameter, description: "A Clerk organization id" };
/** Organization routes answer 404 to non-members exactly as for an organization that does not exist. */
const organizationProblems = {
  ...pathProblems,
  "404": problem("`/problems/not-found`: no such organization, or the caller is not a member (indistinguishable on purpose)"),
};

function queryParameters(query: z.ZodType = listUsersQuerySchema) {
  const json = schema(query, "input") as { properties: Record<string, unknown> };
  return Object.entries(json.properties).map(([name, property]) => ({ name, in: "query", required: false, schema: property }));
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: "3.1.0",
    info: {
      title: "clerk-mongo-sync API",
      version: "1.0.0",
      description:
        "User data synced from Clerk into MongoDB. Authenticate with `Authorization: Bearer <Clerk session token>` (from `getToken()`). Every error is `application/problem+json` with a stable `type` (see the `Problem` schema). A method a path does not list answers 405 `/problems/method-not-allowed` with `Allow`; HEAD is answered like GET, without a body. Query strings are strict on every operation but the webhook: a parameter not listed is a 400.",
    },
    servers: [{ url: "/" }],
    security: [{ clerkSession: [] }],
    paths: {
      "/api/me": {
        get: { summary: "The caller's profile", responses: { "200": ok("The caller", "User"), ...authProblems, ...unavailable } },
        patch: {
          summary: "Edit the caller's app-owned profile fields",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/ProfilePatch" } } } },
          responses: {
            "200": ok("The updated caller", "User"),
            ...authProblems,
            ...unavailable,
            ...bodyProblems,
            "410": problem("`/problems/user-deleted`: the account was deleted (also while this request ran)"),
          },
        },
        delete: {
          summary: "Delete the caller's account in Clerk, and here",
          responses: {
            "200": { description: "Deleted in Clerk and tombstoned here", content: { "application/json": { schema: { $ref: "#/components/schemas/Deletion" } } } },
            "202": { description: "Deleted in Clerk; our copy goes when the user.deleted webhook arrives", content: { "application/json": { schema: { $ref: "#/components/schemas/Deletion" } } } },
            ...authProblems,
            ...unavailable,
            "502": problem("`/problems/clerk-unavailable`: Clerk's Backend API failed; nothing was deleted here", retryAfter),
          },
        },
      },
      "/api/me/export": {
        get: {
          summary: "The caller's personal data (download), in a versioned shape",
          responses: {
            "200": {
              description: "A JSON attachment (`Content-Disposition: attachment`): the caller's profile, sign-in activity and organization memberships, version 1",
              headers: { "Content-Disposition": { schema: { type: "string" } } },
              content: { "application/json": { schema: { $ref: "#/components/schemas/UserExport" } } },
            },
            ...authProblems,
            ...unavailable,
          },
        },
      },
      "/api/me/organizations": {
        get: {
          summary: "The organizations the caller is a member of, with their role (the session's active organization counts at once, before its webhook)",
          parameters: queryParameters(pageQuerySchema),
          responses: { "200": ok("A page of the caller's organizations", "MyOrganizationPage"), ...authProblems, ...unavailable },
        },
      },
      "/api/organizations/{id}": {
        get: {
          summary: "One organization and the caller's role in it (members only)",
          parameters: [organizationIdParameter],
          responses: { "200": ok("The organization", "OrganizationWithRole"), ...authProblems, ...organizationProblems, ...unavailable },
        },
      },
      "/api/organizations/{id}/members": {
        get: {
          summary: "The organization's members, by user id (members only)",
          parameters: [organizationIdParameter, ...queryParameters(pageQuerySchema)],
          responses: { "200": ok("A page of members", "MemberPage"), ...authProblems, ...organizationProblems, ...unavailable },
        },
      },
      "/api/me/activity": {
        get: {
          summary: "The caller's sign-in activity, newest first",
          parameters: queryParameters(listActivityQuerySchema),
          responses: { "200": ok("A page of the caller's activity", "ActivityPage"), ...authProblems, ...unavailable },
        },
      },
      "/api/users": {
        get: {
          summary: "List users (admins)",
          parameters: queryParameters(),
          responses: { "200": ok("A page of users", "UserPage"), ...authProblems, ...unavailable },
        },
      },
      "/api/users/{id}": {
        get: {
          summary: "One user (admins)",
          parameters: [userIdParameter],
          responses: {
            "200": ok("The user", "User"),
            ...authProblems,
            ...unavailable,
            ...pathProblems,
            "404": problem("`/problems/not-found`: no such user (or the caller's own account exists neither here nor in Clerk)"),
          },
        },
      },
      "/api/users/{id}/resync": {
        post: {
          summary: "Re-apply one user from Clerk (admins)",
          parameters: [userIdParameter],
          responses: {
            "202": {
              description: "Requested",
              content: { "application/json": { schema: { type: "object", required: ["status", "userId"], properties: { status: { const: "requested" }, userId: { type: "string" } } } } },
            },
            ...authProblems,
            ...pathProblems,
            "503": problem(
              "`/problems/event-bus-unavailable` (Inngest did not take the event within a fraction of a second), `/problems/service-unavailable` or `/problems/authentication-unavailable`",
              retryAfter,
            ),
          },
        },
      },
      "/api/users/{id}/history": {
        get: {
          summary: "One user's sync audit trail, newest first (admins)",
          parameters: [userIdParameter, ...queryParameters(userHistoryQuerySchema)],
          responses: { "200": ok("Audit records and nextCursor", "AuditPage"), ...authProblems, ...unavailable, ...pathProblems },
        },
      },
      "/api/admin/reconciliation-runs": {
        get: {
          summary: "Latest reconciliation runs (admins)",
          parameters: [{ name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100 } }],
          responses: { "200": { description: "Runs, newest first, each with its trigger, `dryRun`, `force`, `requestedBy`, counts and, while it runs, its `progress`" }, ...authProblems, ...unavailable },
        },
        post: {
          summary: "Start a reconciliation run now (admins); its report appears in the list",
          requestBody: {
            required: false,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    dryRun: { type: "boolean", description: "report what would change, write nothing" },
                    force: { type: "boolean", description: "rewrite every user from Clerk whatever the stored version (after a mapping fix); tombstones stay final" },
                  },
                  additionalProperties: false,
                },
              },
            },
          },
          responses: {
            "202": {
              description: "Requested",
              content: {
                "application/json": {
                  schema: { type: "object", required: ["status", "dryRun", "force"], properties: { status: { const: "requested" }, dryRun: { type: "boolean" }, force: { type: "boolean" } } },
                },
              },
            },
            ...authProblems,
            ...bodyProblems,
            "503": problem(
              "`/problems/event-bus-unavailable` (Inngest did not take the event within a fraction of a second), `/problems/service-unavailable` or `/problems/authentication-unavailable`",
              retryAfter,
            ),
          },
        },
      },
      "/api/admin/status": {
        get: {
          summary: "Is the sync keeping up (admins): ok, degraded or stalled, the reasons and the figures",
          responses: { "200": ok("The sync's status", "SyncStatus"), ...authProblems, ...unavailable },
        },
      },
      "/api/admin/metrics": {
        get: {
          summary: "The sync's status figures in Prometheus' text format (admins)",
          responses: { "200": { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: { type: "string" } } } }, ...authProblems, ...unavailable },
        },
      },
      "/api/health": {
        get: {
          summary: "Liveness, database check and the sync's status (no details; admins read them at /api/admin/status)",
          security: [],
          responses: {
            "200": { description: "Up: the sync is ok or degraded", content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } },
            "503": { description: "Database down, or the sync has stalled", headers: retryAfter, content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } },
          },
        },
      },
      "/api/openapi.json": {
        get: {
          summary: "This document",
          security: [],
          responses: {
            "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } },
            "400": problem("`/problems/invalid-query`: this endpoint takes no query parameters"),
          },
        },
      },
      "/api/webhooks/clerk": {
        post: {
          summary: "Clerk webhooks (Svix-signed); forwarded to Inngest",
          description:
            "Verified on the raw bytes with Svix: HMAC-SHA256 over `${svix-id}.${svix-timestamp}.${body}` with the endpoint's signing secret. Any non-2xx answer makes Svix retry. Query parameters are not read.",
          security: [],
          parameters: [
            { name: "svix-id", in: "header", required: true, description: "Svix's message id, stable across retries (becomes the Inngest event id)", schema: { type: "string", minLength: 1 } },
            { name: "svix-timestamp", in: "header", required: true, description: "Unix seconds; refused more than 5 minutes from now", schema: { type: "string", pattern: "^[0-9]+$" } },
            {
              name: "svix-signature",
              in: "header",
              required: true,
              description: "Space-separated `v1,<base64 HMAC-SHA256>` signatures (several during a secret rotation); one must match",
              schema: { type: "string", minLength: 1 },
            },
          ],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/ClerkWebhookEnvelope" } } } },
          responses: {
            "200": { description: "Accepted (handed to Inngest) or ignored (an event type not handled)", content: { "application/json": { schema: { $ref: "#/components/schemas/WebhookAck" } } } },
            "400": problem("`/problems/webhook-missing-headers`, `/problems/malformed-json` or `/problems/invalid-payload` (not a Clerk envelope, or an unusable payload)"),
            "401": problem("`/problems/webhook-invalid-signature` or `/problems/webhook-stale-timestamp`"),
            "403": problem(
              "`/problems/webhook-wrong-instance`: signed, but sent by another Clerk instance than CLERK_INSTANCE_ID (or without `instance_id` while it is set); nothing is forwarded, and `webhook-delivery: abort-message` stops Svix's retries of this message",
              { "webhook-delivery": { description: "`abort-message`: Svix does not retry this message", schema: { type: "string", const: "abort-message" } } },
            ),
            "408": problem("`/problems/request-timeout`: the body did not arrive within BODY_READ_TIMEOUT_MS"),
            "413": problem("`/problems/payload-too-large`: over WEBHOOK_MAX_BODY_BYTES (declared or sent)"),
            "503": problem("`/problems/event-bus-unavailable`: Inngest did not take the event in time; Svix retries", retryAfter),
          },
        },
      },
    },
    components: {
      securitySchemes: { clerkSession: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        User: schema(userViewSchema),
        // The handler refuses an empty patch (a refinement, which JSON Schema cannot derive).
        ProfilePatch: { ...schema(profilePatchSchema, "input"), minProperties: 1 },
        UserExport: schema(userExportSchema),
        UserPage: { type: "object", required: ["data", "nextCursor"], properties: { data: { type: "array", items: { $ref: "#/components/schemas/User" } }, nextCursor: { type: ["string", "null"] } } },
        Deletion: { type: "object", properties: { deleted: { type: "boolean" }, clerk: { type: "string", enum: ["deleted", "not-found"] }, localData: { type: "string", enum: ["tombstoned", "pending-webhook"] } } },
        Activity: schema(activityViewSchema),
        Organization: schema(organizationViewSchema),
        // One object schema, not `allOf` with Organization: its `additionalProperties: false` would refuse `role`.
        OrganizationWithRole: schema(organizationViewSchema.extend({ role: z.string(), permissions: z.array(z.string()) })),
        MyOrganizationPage: {
          type: "object",
          required: ["data", "nextCursor"],
          properties: { data: { type: "array", items: schema(myOrganizationViewSchema) }, nextCursor: { type: ["string", "null"] } },
        },
        MemberPage: {
          type: "object",
          required: ["data", "nextCursor"],
          properties: { data: { type: "array", items: schema(memberViewSchema) }, nextCursor: { type: ["string", "null"] } },
        },
        ActivityPage: {
          type: "object",
          required: ["data", "nextCursor"],
          properties: { data: { type: "array", items: { $ref: "#/components/schemas/Activity" } }, nextCursor: { type: ["string", "null"] } },
        },
        AuditRecord: {
          type: "object",
          required: ["id", "userId", "source", "sourceEventId", "decision", "change", "at"],
          properties: {
            id: { type: "string" },
            userId: { type: "string" },
            source: { type: "string", description: "webhook, fallback, reconcile or replay" },
            sourceEventId: { type: ["string", "null"] },
            decision: { type: "string", enum: ["applied", "duplicate", "stale", "tombstoned", "failed", "rejected", "superseded", "removed", "organization-deleted", "user-deleted"] },
            change: { type: ["string", "null"], description: "created, updated or deleted when applied" },
            detail: { type: "string" },
            at: { type: "string", format: "date-time" },
          },
        },
        AuditPage: {
          type: "object",
          required: ["data", "nextCursor"],
          properties: {
            data: { type: "array", items: { $ref: "#/components/schemas/AuditRecord" } },
            nextCursor: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null on the last" },
          },
        },
        SyncStatus: {
          type: "object",
          required: ["status", "reasons", "webhooks", "events", "reconciliation", "outbox", "failedSyncsLast24h", "inngest"],
          properties: {
            status: { type: "string", enum: ["ok", "degraded", "stalled"] },
            reasons: { type: "array", items: { type: "string" } },
            webhooks: { type: "object", properties: { lastVerifiedAt: { type: ["string", "null"], format: "date-time" }, ageSeconds: { type: ["integer", "null"] } } },
            events: { type: "object", properties: { lastAppliedAt: { type: ["string", "null"], format: "date-time" }, ageSeconds: { type: ["integer", "null"] } } },
            reconciliation: {
              type: ["object", "null"],
              properties: { finishedAt: { type: "string", format: "date-time" }, status: { type: "string" }, repaired: { type: "integer" }, ageSeconds: { type: "integer" } },
            },
            outbox: {
              type: "object",
              description: "App events waiting to be published: `users` counts the documents holding some (users, organizations and memberships, up to 1,000 of each), `oldestAgeSeconds` the oldest event's age",
              properties: { users: { type: "integer" }, oldestAgeSeconds: { type: ["integer", "null"] } },
            },
            failedSyncsLast24h: { type: "integer" },
            inngest: {
              type: ["object", "null"],
              description: "Inngest's Event API as probed by this request (null when no Inngest is configured); `reason` when unreachable",
              properties: {
                kind: { type: "string", enum: ["reachable", "unreachable"] },
                checkedAt: { type: "string", format: "date-time" },
                httpStatus: { type: "integer" },
                latencyMs: { type: "integer" },
                reason: { type: "string" },
                lastReachableAt: { type: ["string", "null"], format: "date-time" },
                lastReachableAgeSeconds: { type: ["integer", "null"] },
              },
            },
          },
        },
        Health: {
          type: "object",
          required: ["status", "checks"],
          properties: {
            status: { type: "string", enum: ["ok", "degraded", "stalled", "unavailable"] },
            checks: {
              type: "object",
              properties: {
                database: { type: "object", required: ["status"], properties: { status: { type: "string", enum: ["ok", "down"] }, latencyMs: { type: "integer" } } },
                sync: { type: "object", required: ["status"], properties: { status: { type: "string", enum: ["ok", "degraded", "stalled", "unknown"] } } },
              },
            },
          },
        },
        ClerkWebhookEnvelope: {
          type: "object",
          required: ["type", "data"],
          properties: {
            type: { type: "string", minLength: 1, maxLength: 128, description: "e.g. user.created, user.updated, user.deleted, session.created" },
            object: { const: "event" },
            data: { type: "object" },
            timestamp: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "When Clerk emitted the event (ms)" },
            instance_id: { type: "string" },
            event_attributes: {
              type: "object",
              properties: {
                http_request: { type: "object", properties: { client_ip: { type: ["string", "null"] }, user_agent: { type: ["string", "null"] } } },
              },
            },
          },
        },
        WebhookAck: {
          oneOf: [
            { type: "object", required: ["status", "eventId"], properties: { status: { const: "accepted" }, eventId: { type: "string" } } },
            { type: "object", required: ["status", "type"], properties: { status: { const: "ignored" }, type: { type: "string" } } },
          ],
        },
        Problem: problemSchema,
      },
    },
  };
  return cached;
}
