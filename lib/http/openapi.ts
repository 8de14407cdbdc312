import { z } from "zod";
import { activityViewSchema, listActivityQuerySchema } from "../activity/list-activity.js";
import { listUsersQuerySchema } from "../users/list-users.js";
import { profilePatchSchema, userViewSchema } from "../users/user-view.js";
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

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
const ok = (description: string, ref: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const authProblems = {
  "401": problem("Missing, expired or invalid session token"),
  "403": problem("Account banned or locked, or not an admin"),
  "410": problem("The account was deleted"),
  "429": problem("Rate limited; see RateLimit-* and Retry-After"),
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
      description: "User data synced from Clerk into MongoDB. Authenticate with `Authorization: Bearer <Clerk session token>` (from `getToken()`).",
    },
    servers: [{ url: "/" }],
    security: [{ clerkSession: [] }],
    paths: {
      "/api/me": {
        get: { summary: "The caller's profile", responses: { "200": ok("The caller", "User"), ...authProblems } },
        patch: {
          summary: "Edit the caller's app-owned profile fields",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/ProfilePatch" } } } },
          responses: {
            "200": ok("The updated caller", "User"),
            "400": problem("Invalid body, unknown or Clerk-owned field"),
            "413": problem("Body too large"),
            "415": problem("Content-Type is not application/json"),
            ...authProblems,
          },
        },
        delete: {
          summary: "Delete the caller's account in Clerk, and here",
          responses: {
            "200": { description: "Deleted in Clerk and tombstoned here", content: { "application/json": { schema: { $ref: "#/components/schemas/Deletion" } } } },
            "202": { description: "Deleted in Clerk; our copy goes when the user.deleted webhook arrives", content: { "application/json": { schema: { $ref: "#/components/schemas/Deletion" } } } },
            "502": problem("Clerk's Backend API failed"),
            ...authProblems,
          },
        },
      },
      "/api/me/export": {
        get: { summary: "Everything stored about the caller (download)", responses: { "200": { description: "JSON attachment" }, ...authProblems } },
      },
      "/api/me/activity": {
        get: {
          summary: "The caller's sign-in activity, newest first",
          parameters: queryParameters(listActivityQuerySchema),
          responses: { "200": ok("A page of the caller's activity", "ActivityPage"), "400": problem("Invalid query"), ...authProblems },
        },
      },
      "/api/users": {
        get: {
          summary: "List users (admins)",
          parameters: queryParameters(),
          responses: { "200": ok("A page of users", "UserPage"), "400": problem("Invalid query"), ...authProblems },
        },
      },
      "/api/users/{id}": {
        get: {
          summary: "One user (admins)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": ok("The user", "User"), "404": problem("No such user"), ...authProblems },
        },
      },
      "/api/users/{id}/resync": {
        post: {
          summary: "Re-apply one user from Clerk (admins)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "202": { description: "Requested" }, "503": problem("Inngest unavailable"), ...authProblems },
        },
      },
      "/api/users/{id}/history": {
        get: {
          summary: "One user's sync audit trail, newest first (admins)",
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string" } },
            { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100 } },
            { name: "cursor", in: "query", required: false, schema: { type: "string" } },
          ],
          responses: { "200": { description: "Audit records and nextCursor" }, "400": problem("Invalid query"), ...authProblems },
        },
      },
      "/api/admin/reconciliation-runs": {
        get: {
          summary: "Latest reconciliation runs (admins)",
          parameters: [{ name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100 } }],
          responses: { "200": { description: "Runs, newest first" }, ...authProblems },
        },
      },
      "/api/admin/reconcile": {
        post: {
          summary: "Start a reconciliation now (admins)",
          requestBody: { required: false, content: { "application/json": { schema: { type: "object", properties: { dryRun: { type: "boolean" } }, additionalProperties: false } } } },
          responses: { "202": { description: "Requested" }, "503": problem("Inngest unavailable"), ...authProblems },
        },
      },
      "/api/health": {
        get: { summary: "Liveness and database check", security: [], responses: { "200": { description: "Up" }, "503": { description: "Database down" } } },
      },
      "/api/openapi.json": { get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1" } } } },
      "/api/webhooks/clerk": {
        post: {
          summary: "Clerk webhooks (Svix-signed); forwarded to Inngest",
          security: [],
          responses: { "200": { description: "Accepted or ignored" }, "400": problem("Missing headers or bad payload"), "401": problem("Bad signature or stale"), "413": problem("Too large"), "503": problem("Inngest unavailable; Svix retries") },
        },
      },
    },
    components: {
      securitySchemes: { clerkSession: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        User: schema(userViewSchema),
        ProfilePatch: schema(profilePatchSchema, "input"),
        UserPage: { type: "object", required: ["data", "nextCursor"], properties: { data: { type: "array", items: { $ref: "#/components/schemas/User" } }, nextCursor: { type: ["string", "null"] } } },
        Deletion: { type: "object", properties: { deleted: { type: "boolean" }, clerk: { type: "string", enum: ["deleted", "not-found"] }, localData: { type: "string", enum: ["tombstoned", "pending-webhook"] } } },
        Activity: schema(activityViewSchema),
        ActivityPage: {
          type: "object",
          required: ["data", "nextCursor"],
          properties: { data: { type: "array", items: { $ref: "#/components/schemas/Activity" } }, nextCursor: { type: ["string", "null"] } },
        },
        Problem: problemSchema,
      },
    },
  };
  return cached;
}
