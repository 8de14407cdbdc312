/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Clerk Dashboard → API keys → Publishable key (pk_test_… / pk_live_…). */
  readonly VITE_CLERK_PUBLISHABLE_KEY?: string;
  /** Where the API is served; http://localhost:3000 (`npm run dev` at the project root) by default. */
  readonly VITE_API_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
