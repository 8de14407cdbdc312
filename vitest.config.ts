import { configDefaults, defineConfig } from "vitest/config";

/**
 * Unit tests: pure modules, no database, no socket (test/support/unit-guard.ts refuses one), no
 * global setup; seconds, on any machine. Whatever needs MongoDB, a server or a port is an
 * integration test. Move a file here only if it opens no socket.
 */
const unitTests = [
  "test/lib/sync/**/*.test.ts",
  "test/lib/webhooks/**/*.test.ts",
  "test/lib/config.test.ts",
  "test/lib/http/cors.test.ts",
  "test/lib/http/openapi.test.ts",
  "test/lib/activity/list-activity.test.ts",
  "test/lib/activity/session-activity.test.ts",
  "test/lib/email/welcome-email.test.ts",
  "test/lib/ops/assess-sync-health.test.ts",
  "test/inngest/functions/registry.test.ts",
  "test/lib/users/user-contract.test.ts",
  "test/lib/auth/authenticate-request.test.ts",
];

/**
 * `npm test` runs both projects; `npm run test:unit` only the first. Integration tests share one
 * MongoDB-wire server that test/global-setup.ts starts (or finds: MONGODB_URI) and hands over
 * with `provide("mongoUri")`; each worker gets its own database (test/support/mongo.ts).
 */
export default defineConfig({
  test: {
    setupFiles: ["test/support/fail-on-console-error.ts"],
    // A skipped or todo test fails the run (`.only` already does: allowOnly is off outside watch mode).
    reporters: ["default", "./test/support/closing-summary-reporter.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The convergence test prints its figures; keep them visible.
    silent: false,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: unitTests,
          setupFiles: ["test/support/unit-guard.ts"],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...unitTests],
          globalSetup: ["test/global-setup.ts"],
        },
      },
    ],
  },
});
