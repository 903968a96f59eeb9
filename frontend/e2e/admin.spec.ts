// The operator's main journeys, in order, in one signed-in browser; every screen is checked with
// axe and photographed at phone and desktop widths (test-results/screens/, not committed).
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/e2e/test_admin_ui.py`);
  return value;
};

const PASSWORD = "e2e admin password";
const ACCOUNT = "e2e-alice";
const WIDTHS = [390, 1280] as const;

test.describe.configure({ mode: "serial" });

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context.close();
});

/** No serious or critical axe violations, then a screenshot at each width. */
async function checkScreen(name: string): Promise<void> {
  await expect(page.locator("[aria-busy=true]")).toHaveCount(0);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} scrolls sideways at ${width}px`).toBeLessThanOrEqual(0);
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`), `${name} at ${width}px`).toEqual([]);
    await page.screenshot({ path: `test-results/screens/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function csrf(): Promise<string> {
  const info = await (await page.request.get("/admin/api/session")).json();
  return info.csrfToken as string;
}

async function nav(label: string): Promise<void> {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: label, exact: true }).click();
}

test("first run: set the admin password", async () => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/admin\/$/);
  await expect(page.getByRole("heading", { name: "Set up Mailgate" })).toBeVisible();
  await checkScreen("setup");
  await page.getByLabel("Admin password").fill("short");
  await page.getByLabel("Repeat the password").fill("short");
  await page.getByLabel("Admin password").evaluate((el: HTMLInputElement) => el.form!.noValidate = true);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("at least 10 characters");
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByText("live", { exact: true })).toBeVisible();
});

test("sign out, a wrong password is refused, sign in again", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Mailgate" })).toBeVisible();
  await page.getByLabel("Admin password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong password");
  await checkScreen("sign-in");
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
});

test("add an account and watch it connect without reloading", async () => {
  await nav("Accounts");
  await expect(page.getByText("No accounts yet")).toBeVisible();
  await checkScreen("accounts-empty");
  await page.getByRole("button", { name: "Add account" }).click();
  await page.getByLabel("Account id").fill(ACCOUNT);
  await page.getByLabel("Display name").fill("Alice (e2e)");
  await page.getByLabel("Email address").fill(env("E2E_IMAP_USER"));
  const imap = page.getByRole("group", { name: "IMAP" });
  await imap.getByLabel("Host").fill(env("E2E_IMAP_HOST"));
  await imap.getByLabel("Port").fill(env("E2E_IMAP_PORT"));
  await imap.getByLabel("User name").fill(env("E2E_IMAP_USER"));
  await imap.getByLabel("Password").fill(env("E2E_IMAP_PASS"));
  await page.getByLabel("SMTP uses the IMAP user name and password").uncheck();
  const smtp = page.getByRole("group", { name: "SMTP" });
  await smtp.getByLabel("User name").fill(env("E2E_SMTP_USER"));
  await smtp.getByLabel("Password").fill(env("E2E_SMTP_PASS"));
  await smtp.getByLabel("Host").fill(env("E2E_SMTP_HOST"));
  await smtp.getByLabel("Port").fill(env("E2E_SMTP_PORT"));
  await smtp.getByRole("switch").uncheck();
  await checkScreen("account-new");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByText("IMAP: works")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText("SMTP: works")).toBeVisible();
  await page.getByRole("button", { name: "Add account" }).click();
  await expect(page.getByRole("heading", { name: "Alice (e2e)" })).toBeVisible();
  // The badge follows the accountState subscription: no reload happens here.
  await expect(page.getByTestId("account-state")).toHaveText("connected", { timeout: 90_000 });
  await expect(page.getByRole("button", { name: "INBOX", exact: true })).toBeVisible({ timeout: 30_000 });
  await checkScreen("account-detail");
});

test("open a message with its text and attachment", async () => {
  await page.getByRole("button", { name: "INBOX", exact: true }).click();
  await page.getByRole("link", { name: "Quarterly report" }).click();
  await expect(page.getByRole("heading", { name: "Quarterly report" })).toBeVisible();
  await expect(page.getByLabel("Message text")).toContainText("Hello from the end-to-end test.");
  await expect(page.getByRole("link", { name: "numbers.csv" })).toBeVisible();
  await checkScreen("message");
});

test("the protocol log tab answers (or says it is not available)", async () => {
  await page.goto(`/admin/accounts/${ACCOUNT}?tab=log`);
  await expect(page.getByText(/Not available on this server|The log is empty|Download/).first()).toBeVisible();
  await checkScreen("account-log");
});

test("edit an account: the form shows what is saved, and keeps the password", async () => {
  await page.getByRole("button", { name: "Edit" }).click();
  const imap = page.getByRole("group", { name: "IMAP" });
  await expect(imap.getByLabel("Host")).toHaveValue(env("E2E_IMAP_HOST"));
  await expect(imap.getByLabel("User name")).toHaveValue(env("E2E_IMAP_USER"));
  await expect(imap.getByLabel("Password")).toHaveValue("");
  await checkScreen("account-edit");
  await page.getByLabel("Display name").fill("Alice renamed");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("heading", { name: "Alice renamed" })).toBeVisible();
  await page.getByRole("button", { name: "Reconnect" }).click();
  await expect(page.getByText("Reconnect requested.")).toBeVisible();
  await expect(page.getByTestId("account-state")).toHaveText("connected", { timeout: 90_000 });
});

test("set a webhook and see a delivery appear", async () => {
  await nav("Webhooks");
  await expect(page.getByText("No deliveries yet.")).toBeVisible();
  await page.getByLabel("Send webhooks").check();
  await page.getByLabel("Webhook URL").fill(env("E2E_WEBHOOK_URL"));
  await page.getByRole("button", { name: "Add header" }).click();
  await page.getByLabel("Header 1 name").fill("X-E2E");
  await page.getByLabel("Header 1 value").fill("yes");
  await page.getByRole("button", { name: "Save webhook settings" }).click();
  await expect(page.getByText("Saved.", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Generate a new secret" }).click();
  await expect(page.getByText("The new secret, shown once")).toBeVisible();
  await page.getByRole("button", { name: "Send a test event" }).click();
  await expect(page.getByText("The receiver accepted the test event (HTTP 200).")).toBeVisible();
  // An event to deliver: an account is added (through the API, as any client would).
  const added = await page.request.post("/v1/account", {
    headers: { "X-CSRF-Token": await csrf() },
    data: { account: "e2e-hook", name: "Hook trigger", imap: { host: "127.0.0.1", port: 1, auth: { user: "x", pass: "y" } } },
  });
  expect(added.ok()).toBeTruthy();
  const row = page.getByRole("table", { name: "Webhook deliveries" }).getByRole("row").filter({ hasText: "accountAdded" });
  await expect(row.first()).toBeVisible({ timeout: 60_000 });
  await expect(row.first()).toContainText("delivered", { timeout: 60_000 });
  await checkScreen("webhooks");
});

test("issue and revoke a token", async () => {
  await nav("Tokens");
  const form = page.getByRole("form", { name: "Issue a token" });
  await form.getByLabel("Account").selectOption(ACCOUNT);
  await form.getByLabel("Description").fill("e2e token");
  await form.getByRole("button", { name: "Issue token" }).click();
  await expect(page.getByTestId("issued-token")).toHaveText(/^[0-9a-f]{64}$/);
  const row = page.getByRole("table", { name: "Tokens" }).getByRole("row").filter({ hasText: "e2e token" });
  await expect(row).toBeVisible();
  await checkScreen("tokens");
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(row).toHaveCount(0);
});

test("cancel a scheduled message", async () => {
  const sendAt = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
  const submitted = await page.request.post(`/v1/account/${ACCOUNT}/submit`, {
    headers: { "X-CSRF-Token": await csrf() },
    data: { from: { address: env("E2E_IMAP_USER") }, to: [{ address: "later@example.com" }], subject: "Send tomorrow", text: "Later.", sendAt },
  });
  expect(submitted.ok(), await submitted.text()).toBeTruthy();
  await nav("Outbox");
  const row = page.getByRole("table", { name: "Outbox" }).getByRole("row").filter({ hasText: "Send tomorrow" });
  await expect(row).toBeVisible();
  await checkScreen("outbox");
  await row.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel message" }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText("No messages in this state.")).toBeVisible();
});

test("dashboard, accounts, OAuth2 apps and settings screens", async () => {
  await nav("Dashboard");
  await expect(page.getByRole("heading", { name: "Accounts needing attention" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Hook trigger" })).toBeVisible({ timeout: 60_000 });
  await checkScreen("dashboard");
  await nav("Accounts");
  await expect(page.getByRole("link", { name: "Alice renamed" })).toBeVisible();
  await checkScreen("accounts");
  await nav("OAuth2 apps");
  await expect(page.getByText(/Not available on this server|No OAuth2 apps yet/)).toBeVisible();
  await checkScreen("oauth2");
  await nav("Settings");
  await expect(page.getByRole("heading", { name: "Instance" })).toBeVisible();
  await page.getByLabel("Brand name").fill("Mailgate e2e");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Saved: pageBrandName.")).toBeVisible();
  await checkScreen("settings");
});

test("the phone menu opens by keyboard", async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  const menu = page.getByRole("button", { name: "Menu" });
  await menu.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await page.getByRole("link", { name: "Tokens" }).click();
  await expect(page.getByRole("heading", { name: "Access tokens" })).toBeVisible();
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("sign out everywhere", async () => {
  await nav("Settings");
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Mailgate" })).toBeVisible();
  expect((await page.request.get("/v1/stats")).status()).toBe(401);
});
