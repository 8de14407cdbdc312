import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".data/", "coverage/", ".vercel/", "test-results/", "examples/react/dist/", "examples/react/node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    // Configuration is read and validated once, in lib/config.ts; everything else receives it.
    files: ["api/**/*.ts", "lib/**/*.ts", "inngest/**/*.ts"],
    ignores: ["lib/config.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through lib/config.ts (getConfig)." },
      ],
    },
  },
  {
    // The layers only point down: api → inngest, lib; inngest → lib; lib → nothing of ours above it.
    files: ["lib/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["**/api/**", "**/inngest/**", "**/scripts/**"] }],
    },
  },
  {
    // The browser client runs in the frontend: it may take types from the server code, never code.
    files: ["client/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/lib/**", "**/api/**", "**/inngest/**", "**/scripts/**"], allowTypeImports: true }] },
      ],
    },
  },
  {
    files: ["inngest/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: ["**/api/**", "**/scripts/**"] }] },
  },
);
