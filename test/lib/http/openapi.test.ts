import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../../lib/http/openapi.js";
import { problemTypes } from "../../../lib/http/problem.js";

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }>;
  security?: unknown[];
}
const document = openApiDocument() as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }>; minProperties?: number; [key: string]: unknown }> };
};
const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));
const authenticated = operations.filter(({ operation }) => operation.security === undefined);

describe("the OpenAPI document is the whole contract", () => {
  it("answers every error as problem+json with the Problem schema", () => {
    for (const { path, method, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || (path === "/api/health" && status === "503")) continue;
        expect(response.content, `${method} ${path} ${status}`).toEqual({ "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } });
      }
    }
  });

  it("lists, on every authenticated operation, what the pipeline itself can answer", () => {
    for (const { path, method, operation } of authenticated) {
      expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(["400", "401", "403", "404", "410", "429", "502", "503"]));
    }
  });

  it("lists 408, 413 and 415 where a JSON body is read, and Retry-After on 429 and 503", () => {
    const patch = document.paths["/api/me"]?.patch;
    expect(Object.keys(patch?.responses ?? {})).toEqual(expect.arrayContaining(["400", "408", "410", "413", "415"]));
    const webhook = document.paths["/api/webhooks/clerk"]?.post;
    expect(Object.keys(webhook?.responses ?? {})).toEqual(["200", "400", "401", "403", "408", "413", "503"]);
    for (const { path, method, operation } of authenticated) {
      expect(operation.responses["429"]?.headers, `${method} ${path}`).toHaveProperty("Retry-After");
    }
    expect(document.paths["/api/users/{id}/resync"]?.post?.responses["503"]?.headers).toHaveProperty("Retry-After");
  });

  it("documents the webhook's Svix headers and the Clerk envelope", () => {
    const webhook = document.paths["/api/webhooks/clerk"]?.post;
    expect(webhook?.parameters?.map(({ name, in: where, required }) => ({ name, in: where, required }))).toEqual([
      { name: "svix-id", in: "header", required: true },
      { name: "svix-timestamp", in: "header", required: true },
      { name: "svix-signature", in: "header", required: true },
    ]);
    expect(webhook?.requestBody?.content["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/ClerkWebhookEnvelope" });
  });

  it("states the rules the handlers enforce: a non-empty PATCH, control-free text, user-id and cursor formats", () => {
    const patch = document.components.schemas.ProfilePatch;
    expect(patch?.minProperties).toBe(1);
    expect(JSON.stringify(patch?.properties?.displayName)).toContain("pattern");
    for (const path of ["/api/users/{id}", "/api/users/{id}/resync", "/api/users/{id}/history"]) {
      const id = Object.values(document.paths[path] ?? {})[0]?.parameters?.find((parameter) => parameter.name === "id");
      expect(id?.schema.pattern, path).toBe("^[A-Za-z0-9_]{1,128}$");
    }
    for (const path of ["/api/users", "/api/me/activity", "/api/users/{id}/history"]) {
      const cursor = document.paths[path]?.get?.parameters?.find((parameter) => parameter.name === "cursor");
      expect(cursor?.schema, path).toMatchObject({ type: "string", pattern: expect.any(String), description: expect.stringContaining("nextCursor") });
    }
  });

  it("documents the export's versioned shape, without internals", () => {
    const response = document.paths["/api/me/export"]?.get?.responses["200"];
    expect(response?.content?.["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/UserExport" });
    const exported = document.components.schemas.UserExport;
    expect(Object.keys(exported?.properties ?? {})).toEqual(["version", "exportedAt", "user", "activity", "memberships"]);
    expect(exported?.additionalProperties).toBe(false);
    const membership = (exported?.properties?.memberships as { items?: { properties?: Record<string, unknown>; additionalProperties?: unknown } } | undefined)?.items;
    expect(Object.keys(membership?.properties ?? {})).toEqual(["organization", "role", "permissions", "publicMetadata", "joinedAt", "updatedAt", "removedAt"]);
    expect(membership?.additionalProperties).toBe(false);
    const userFields = Object.keys(exported?.properties?.user?.properties ?? {});
    expect(userFields).toEqual(expect.arrayContaining(["id", "email", "profile", "lastSignInAt"]));
    for (const internal of ["_id", "outbox", "welcomeEmail", "deletedAt", "purgedAt", "__v"]) expect(userFields).not.toContain(internal);
  });

  it("knows every problem type, and docs/problems.md documents each", () => {
    const problemDocs = readFileSync(new URL("../../../docs/problems.md", import.meta.url), "utf8");
    const enumerated = (document.components.schemas.Problem?.properties?.type as { enum?: string[] } | undefined)?.enum;
    for (const { type, status } of Object.values(problemTypes)) {
      expect(enumerated).toContain(type);
      expect(problemDocs, type).toMatch(new RegExp(`\\| \`${type}\` \\| ${status} \\|`));
    }
  });
});
