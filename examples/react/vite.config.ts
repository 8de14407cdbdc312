import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The app imports the project's typed client straight from ../../client (types from the
// server code are erased at build time), so the dev server may serve that folder too.
export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    fs: { allow: [fileURLToPath(new URL(".", import.meta.url)), fileURLToPath(new URL("../../client", import.meta.url))] },
  },
});
