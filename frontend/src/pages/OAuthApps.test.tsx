import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scriptFetch } from "../test/fetch";
import { appBody, initialForm, OAuthApps, type OAuthApp } from "./OAuthApps";

afterEach(() => vi.unstubAllGlobals());

const renderPage = () =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <OAuthApps />
    </QueryClientProvider>,
  );

const app = (over: Partial<OAuthApp>): OAuthApp =>
  ({
    id: "corp",
    name: "Corporate SSO",
    provider: "generic",
    enabled: true,
    created: "2026-01-01T00:00:00Z",
    updated: "2026-01-01T00:00:00Z",
    clientId: "client-1",
    clientSecret: "******",
    redirectUrl: "https://mail.example.com/oauth",
    authorizationUrl: "https://idp.example.com/authorize",
    tokenUrl: "https://idp.example.com/token",
    userInfoUrl: null,
    scopes: ["openid", "email", "offline_access"],
    imap: { host: "imap.example.com", port: 993, secure: true },
    smtp: { host: "smtp.example.com", port: 587, secure: false },
    accounts: 2,
    lastError: null,
    ...over,
  }) as OAuthApp;

const list = (apps: OAuthApp[]) => ({ status: 200, body: { total: apps.length, page: 0, pages: 1, apps } });

describe("OAuthApps", () => {
  it("shows the settings in effect and the last error of each app", async () => {
    scriptFetch({
      "GET /v1/oauth2": list([
        app({}),
        app({ id: "g", name: "Gmail", provider: "gmail", lastError: { response: null, description: "invalid_client: bad secret", serverResponseCode: null, tokenRequest: null } }),
      ]),
    });
    renderPage();
    const table = await screen.findByRole("table", { name: "OAuth2 apps" });
    const corp = within(table).getByRole("row", { name: /Corporate SSO/ });
    expect(corp).toHaveTextContent("openid email offline_access");
    expect(corp).toHaveTextContent("imap.example.com:993 (TLS)");
    expect(corp).toHaveTextContent("smtp.example.com:587 (STARTTLS)");
    expect(corp).toHaveTextContent("https://idp.example.com/token");
    expect(corp).not.toHaveTextContent("Last error");
    expect(within(table).getByRole("row", { name: /Gmail/ })).toHaveTextContent("Last error: invalid_client: bad secret");
  });

  it("asks for endpoints and servers only for the generic provider, and sends them", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({ "GET /v1/oauth2": list([]), "POST /v1/oauth2": { status: 200, body: { id: "new", created: true } } });
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Add app" }));
    const form = screen.getByRole("form", { name: "Add an OAuth2 app" });
    expect(within(form).queryByLabelText("Token URL")).not.toBeInTheDocument();
    await user.selectOptions(within(form).getByLabelText("Provider"), "generic");
    await user.type(within(form).getByLabelText("Name"), "Local IdP");
    await user.type(within(form).getByLabelText("Client id"), "mailgate-test");
    await user.type(within(form).getByLabelText("Client secret"), "s3cret");
    await user.type(within(form).getByLabelText("Redirect URL"), "http://127.0.0.1:3000/oauth");
    await user.type(within(form).getByLabelText("Authorization URL"), "http://127.0.0.1:9/authorize");
    await user.type(within(form).getByLabelText("Token URL"), "http://127.0.0.1:9/token");
    await user.type(within(form).getByLabelText("Scopes"), "openid, email");
    const imap = within(form).getByRole("group", { name: "IMAP server" });
    await user.type(within(imap).getByLabelText("Host"), "127.0.0.1");
    await user.clear(within(imap).getByLabelText("Port"));
    await user.type(within(imap).getByLabelText("Port"), "1143");
    await user.click(within(imap).getByRole("switch"));
    await user.click(within(form).getByRole("button", { name: "Save" }));
    await screen.findByText("No OAuth2 apps yet.");
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({
      name: "Local IdP",
      provider: "generic",
      enabled: true,
      clientId: "mailgate-test",
      clientSecret: "s3cret",
      redirectUrl: "http://127.0.0.1:3000/oauth",
      authorizationUrl: "http://127.0.0.1:9/authorize",
      tokenUrl: "http://127.0.0.1:9/token",
      scopes: ["openid", "email"],
      imap: { host: "127.0.0.1", port: 1143, secure: false },
    });
  });

  it("keeps the stored secret when editing with the field left blank", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({ "GET /v1/oauth2": list([app({})]), "PUT /v1/oauth2/corp": { status: 200, body: { id: "corp", updated: true } } });
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Edit" }));
    const form = screen.getByRole("form", { name: "Edit Corporate SSO" });
    expect(within(form).getByLabelText("Client secret")).toHaveValue("");
    expect(within(form).getByLabelText("Client secret")).toHaveAttribute("placeholder", "unchanged");
    expect(within(form).getByLabelText("Scopes")).toHaveValue("openid email offline_access");
    await user.click(within(form).getByRole("button", { name: "Save" }));
    const put = await vi.waitFor(() => {
      const found = calls.find((c) => c.method === "PUT");
      if (!found) throw new Error("no PUT yet");
      return found;
    });
    const body = put.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("clientSecret");
    expect(body).not.toHaveProperty("provider");
    expect(body.smtp).toEqual({ host: "smtp.example.com", port: 587, secure: false });
  });

  it("shows the verify result as steps with status, message and hint", async () => {
    const user = userEvent.setup();
    scriptFetch({
      "GET /v1/oauth2": list([app({})]),
      "POST /v1/oauth2/corp/verify": {
        status: 200,
        body: {
          app: "corp",
          provider: "generic",
          ok: false,
          steps: [
            { id: "settings", label: "Settings complete", status: "ok", message: null, hint: null },
            { id: "client", label: "Provider accepts the client", status: "fail", message: "invalid_client", hint: "Check the client secret" },
            { id: "account", label: "Account token", status: "skip", message: "No account given", hint: null },
          ],
        },
      },
    });
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Verify Corporate SSO" }));
    const result = await screen.findByRole("region", { name: "Verify Corporate SSO" });
    expect(within(result).getByRole("heading")).toHaveTextContent("a check failed");
    const steps = within(result).getAllByRole("listitem");
    expect(steps.map((s) => s.textContent)).toEqual([
      "Settings complete ok",
      "Provider accepts the client failinvalid_clientHint: Check the client secret",
      "Account token skipNo account given",
    ]);
  });

  it("shows the API's error when saving fails", async () => {
    const user = userEvent.setup();
    scriptFetch({
      "GET /v1/oauth2": list([]),
      "POST /v1/oauth2": { status: 400, body: { error: "a generic provider needs tokenUrl", code: "InvalidRequest", statusCode: 400 } },
    });
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Add app" }));
    const form = screen.getByRole("form", { name: "Add an OAuth2 app" });
    (form as HTMLFormElement).noValidate = true;
    await user.selectOptions(within(form).getByLabelText("Provider"), "generic");
    await user.click(within(form).getByRole("button", { name: "Save" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("a generic provider needs tokenUrl");
  });
});

describe("appBody", () => {
  it("sends no generic fields for a preset provider, and the authority only for Outlook", () => {
    const form = { ...initialForm(null), name: "Mail", provider: "outlook" as const, clientId: "c", authority: "organizations", tokenUrl: "http://x/token" };
    expect(appBody(form, false)).toEqual({ name: "Mail", provider: "outlook", enabled: true, clientId: "c", authority: "organizations" });
    expect(appBody({ ...form, provider: "gmail" }, true)).toEqual({ name: "Mail", enabled: true, clientId: "c", redirectUrl: false });
    expect(appBody({ ...form, provider: "gmail", redirectUrl: " https://m.example/oauth " }, true)).toMatchObject({ redirectUrl: "https://m.example/oauth" });
  });
});

describe("deleting an app", () => {
  it("asks first, then deletes and reloads the list", async () => {
    const user = userEvent.setup();
    let apps = [app({})];
    const calls = scriptFetch({
      "GET /v1/oauth2": () => list(apps),
      "DELETE /v1/oauth2/corp": () => {
        apps = [];
        return { status: 200, body: { id: "corp", deleted: true, accounts: 2 } };
      },
    });
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Delete Corporate SSO? Accounts added through it stay");
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Delete app" }));
    expect(await screen.findByText("No OAuth2 apps yet.")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
  });
});
