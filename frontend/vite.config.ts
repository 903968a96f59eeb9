import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

// The bundle is served by Mailgate itself at /admin (app/api/admin_ui.py serves this folder).
const outDir = fileURLToPath(new URL("../app/static/admin", import.meta.url));

export default defineConfig({
  base: "/admin/",
  plugins: [react()],
  build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      "/v1": "http://127.0.0.1:3000",
      "/graphql": { target: "ws://127.0.0.1:3000", ws: true },
      "/admin/api": "http://127.0.0.1:3000",
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
