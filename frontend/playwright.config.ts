import { defineConfig } from "@playwright/test";

// Debian's chromium, never a downloaded browser. tests/e2e/test_admin_ui.py starts Mailgate and
// the mail servers and passes their addresses in E2E_* variables.
export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/playwright",
  workers: 1,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.E2E_BASE_URL ?? "http://127.0.0.1:3000",
    headless: true,
    trace: "off",
    actionTimeout: 20_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
    },
  },
});
