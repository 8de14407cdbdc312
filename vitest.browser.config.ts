import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the React example (examples/react) in headless Chromium against the
 * API served by `npm run dev`, each on its own origin. Separate from `npm test`: it needs a
 * Chromium (Debian's `chromium`; CHROMIUM_PATH to choose another) and builds the app with Vite.
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.browser.ts"],
    globalSetup: ["test/browser/global-setup.ts"],
    setupFiles: ["test/support/fail-on-console-error.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
