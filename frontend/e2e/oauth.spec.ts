// OAuth2 in the admin UI (run through tests/e2e/test_admin_oauth.py): a generic app for the local
// test provider, an account added through its consent page, and an account's protocol log.
import { readFile } from "node:fs/promises";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { checkScreen, env } from "./screens";

const PASSWORD = "e2e admin password";
const APP = "Local IdP";
const LOG_ACCOUNT = "e2e-logged";

test.describe.configure({ mode: "serial" });

let context: BrowserContext;
let page: Page;
/** The id the server generated for the account added through consent. */
let oauthAccount = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context.close();
});

async function nav(label: string): Promise<void> {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: label, exact: true }).click();
}

async function csrf(): Promise<string> {
  const info = await (await page.request.get("/admin/api/session")).json();
  return info.csrfToken as string;
}

test("sign in for the first time", async () => {
  await page.goto("/admin/");
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByLabel("Repeat the password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
});

test("add a generic OAuth2 app, see it listed, and verify it", async () => {
  await nav("OAuth2 apps");
  await expect(page.getByText("No OAuth2 apps yet.")).toBeVisible();
  await page.getByRole("button", { name: "Add app" }).click();
  const form = page.getByRole("form", { name: "Add an OAuth2 app" });
  await expect(form.getByLabel("Token URL")).toHaveCount(0);
  await form.getByLabel("Provider").selectOption("generic");
  await form.getByLabel("Name").fill(APP);
  await form.getByLabel("Client id").fill(env("E2E_CLIENT_ID"));
  await form.getByLabel("Client secret").fill("not the client secret");
  await form.getByLabel("Redirect URL").fill(`${env("E2E_BASE_URL")}/oauth`);
  await form.getByLabel("Authorization URL").fill(env("E2E_IDP_AUTHORIZE_URL"));
  await form.getByLabel("Token URL").fill(env("E2E_IDP_TOKEN_URL"));
  await form.getByLabel("User info URL").fill(env("E2E_IDP_USERINFO_URL"));
  await form.getByLabel("Scopes").fill("openid email mail");
  const imap = form.getByRole("group", { name: "IMAP server" });
  await imap.getByLabel("Host").fill(env("E2E_IMAP_HOST"));
  await imap.getByLabel("Port").fill(env("E2E_IMAP_PORT"));
  await imap.getByRole("switch").uncheck();
  await checkScreen(page, "oauth2-new");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form).toHaveCount(0);

  const row = page.getByRole("table", { name: "OAuth2 apps" }).getByRole("row").filter({ hasText: APP });
  await expect(row).toContainText("generic");
  await row.getByText("Settings in effect").click();
  await expect(row).toContainText("openid email mail");
  await expect(row).toContainText(`${env("E2E_IMAP_HOST")}:${env("E2E_IMAP_PORT")} (STARTTLS)`);

  // The wrong secret: the provider refuses the client, and the step says what to check.
  await row.getByRole("button", { name: `Verify ${APP}` }).click();
  const result = page.getByRole("region", { name: `Verify ${APP}` });
  await expect(result.getByRole("heading")).toContainText("a check failed");
  const providerStep = result.getByRole("listitem").filter({ hasText: "Provider accepts the client" });
  await expect(providerStep).toContainText("fail");
  await expect(providerStep).toContainText("Hint: Check clientId and clientSecret");
  await checkScreen(page, "oauth2-verify-failed");

  // Fixed through the edit form; the other settings stay as they were.
  await row.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("form", { name: `Edit ${APP}` });
  await expect(edit.getByLabel("Token URL")).toHaveValue(env("E2E_IDP_TOKEN_URL"));
  await edit.getByLabel("Client secret").fill(env("E2E_CLIENT_SECRET"));
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(edit).toHaveCount(0);
  await row.getByRole("button", { name: `Verify ${APP}` }).click();
  await expect(result.getByRole("heading")).toContainText("all checks passed");
  await expect(result.getByRole("listitem").filter({ hasText: "Redirect URL" })).toContainText(`ok${env("E2E_BASE_URL")}/oauth`);
  await expect(providerStep).toContainText("The client credentials were accepted");
  await checkScreen(page, "oauth2-apps");
});

test("add an account through the provider's consent and watch it connect", async () => {
  await nav("Accounts");
  await page.getByRole("button", { name: "Add account" }).click();
  await page.getByRole("button", { name: "OAuth2" }).click();
  const form = page.getByRole("form", { name: "Add an account through OAuth2" });
  await form.getByLabel("OAuth2 app").selectOption({ label: `${APP} (generic)` });
  // No account id: the server generates one and says which in the redirect back.
  await expect(form.getByLabel("Account id")).toHaveValue("");
  await form.getByLabel("Display name").fill("Olivia (OAuth2)");
  await checkScreen(page, "account-new-oauth2");
  await form.getByRole("button", { name: "Continue to the provider's consent page" }).click();
  // Provider (no login page) -> /oauth -> back to the account list with the outcome.
  await expect(page).toHaveURL(/\/admin\/accounts\?oauth2=done&account=[^&]+&state=new$/);
  oauthAccount = new URL(page.url()).searchParams.get("account") ?? "";
  const notice = page.getByRole("status").filter({ hasText: "Account added" });
  await expect(notice).toContainText(`Account added: ${oauthAccount} is registered`);
  await expect(page.getByRole("link", { name: "Olivia (OAuth2)" })).toBeVisible();
  await checkScreen(page, "accounts-after-consent");
  await notice.getByRole("link", { name: oauthAccount }).click();
  await expect(page.getByRole("heading", { name: "Olivia (OAuth2)" })).toBeVisible();
  await expect(page.getByText(env("E2E_OAUTH_USER")).first()).toBeVisible();
  await expect(page.getByTestId("account-state")).toHaveText("connected", { timeout: 90_000 });
});

test("edit the OAuth2 account: no password form, and signing in again keeps it", async () => {
  await page.getByRole("button", { name: "Edit" }).click();
  const form = page.getByRole("form", { name: `Edit ${oauthAccount}` });
  await expect(form.getByLabel("Display name")).toHaveValue("Olivia (OAuth2)");
  await expect(page.getByRole("group", { name: "IMAP" })).toHaveCount(0);
  await expect(page.getByText(`as ${env("E2E_OAUTH_USER")}`)).toBeVisible();
  await checkScreen(page, "account-edit-oauth2");
  await page.getByRole("button", { name: "Sign in again at the provider" }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/accounts\\?oauth2=done&account=${oauthAccount}&state=existing$`));
  await expect(page.getByRole("status").filter({ hasText: "Signed in again" })).toContainText(`the account ${oauthAccount} has new OAuth2 tokens`);
  await expect(page.getByRole("table").getByRole("row").filter({ hasText: oauthAccount })).toHaveCount(1);
});

test("a refused consent comes back as an error on the account list", async () => {
  await page.goto("/admin/accounts?oauth2=done&error=access_denied&error_description=The%20user%20declined");
  await expect(page.getByRole("alert")).toContainText("The OAuth2 sign-in did not add an account: The user declined (access_denied)");
  await page.getByRole("button", { name: "Dismiss" }).click();
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(page).toHaveURL(/\/admin\/accounts$/);
});

test("the protocol log shows the IMAP dialogue and downloads it", async () => {
  const added = await page.request.post("/v1/account", {
    headers: { "X-CSRF-Token": await csrf() },
    data: {
      account: LOG_ACCOUNT,
      name: "Logged account",
      logs: true,
      imap: { host: env("E2E_IMAP_HOST"), port: Number(env("E2E_IMAP_PORT")), secure: false, auth: { user: env("E2E_LOG_USER"), pass: env("E2E_LOG_PASS") } },
    },
  });
  expect(added.ok(), await added.text()).toBeTruthy();
  // Wait for the connection to have written its greeting and login before the UI reads the log.
  await expect
    .poll(async () => (await page.request.get(`/v1/logs/${LOG_ACCOUNT}`)).text(), { timeout: 90_000 })
    .toMatch(/ S: \* OK[\s\S]* C: \S+ (LOGIN|AUTHENTICATE)/);
  await page.goto(`/admin/accounts/${LOG_ACCOUNT}?tab=log`);
  const log = page.getByRole("region", { name: "Protocol log" }).locator("pre");
  await expect(log).toContainText(/ S: \* OK/);
  await expect(log).toContainText(/ C: \S+ (LOGIN|AUTHENTICATE)/);
  await expect(log).not.toContainText(env("E2E_LOG_PASS"));
  await checkScreen(page, "account-log");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  expect(download.suggestedFilename()).toBe(`${LOG_ACCOUNT}.log`);
  const text = await readFile(await download.path(), "utf8");
  expect(text).toMatch(/ S: \* OK/);
  expect(text).toMatch(/ C: \S+ (LOGIN|AUTHENTICATE)/);
  expect(text).not.toContain(env("E2E_LOG_PASS"));
});
