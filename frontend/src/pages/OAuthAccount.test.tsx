import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scriptFetch } from "../test/fetch";
import { AccountForm } from "./AccountForm";
import { OAuthAccount, OAuthAccountEdit, consentReturnUrl } from "./AccountOAuth";
import { Accounts } from "./Accounts";

vi.mock("../api/live", () => ({ useAccountState: () => null }));

afterEach(() => vi.unstubAllGlobals());

const wrap = (ui: ReactNode, url = "/") =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[url]}>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );

const oauthApp = (id: string, enabled: boolean) => ({ id, name: `App ${id}`, provider: "generic", enabled, created: "", updated: "" });

describe("OAuthAccount", () => {
  it("offers the enabled apps and sends the browser to the consent URL the server answers", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({
      "GET /v1/oauth2": { status: 200, body: { total: 2, page: 0, pages: 1, apps: [oauthApp("on", true), oauthApp("off", false)] } },
      "POST /v1/account": { status: 200, body: { redirect: "https://idp.example.com/authorize?state=abc" } },
    });
    const go = vi.fn();
    wrap(<OAuthAccount go={go} />);
    const form = await screen.findByRole("form", { name: "Add an account through OAuth2" });
    const select = within(form).getByLabelText("OAuth2 app");
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose…", "App on (generic)"]);
    await user.selectOptions(select, "on");
    await user.type(within(form).getByLabelText("Account id"), "carol");
    await user.type(within(form).getByLabelText("Display name"), "Carol");
    await user.click(within(form).getByRole("button", { name: "Continue to the provider's consent page" }));
    await vi.waitFor(() => expect(go).toHaveBeenCalledWith("https://idp.example.com/authorize?state=abc"));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      account: "carol",
      name: "Carol",
      oauth2: { provider: "on", authorize: true, redirectUrl: consentReturnUrl() },
    });
    expect(consentReturnUrl()).toBe(`${window.location.origin}/admin/accounts?oauth2=done`);
  });

  it("says so when no app is enabled", async () => {
    scriptFetch({ "GET /v1/oauth2": { status: 200, body: { total: 1, page: 0, pages: 1, apps: [oauthApp("off", false)] } } });
    wrap(<OAuthAccount go={vi.fn()} />);
    expect(await screen.findByText(/No enabled OAuth2 app is set up/)).toBeInTheDocument();
  });

  it("shows the API's refusal and stays on the page", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({
      "GET /v1/oauth2": { status: 200, body: { total: 1, page: 0, pages: 1, apps: [oauthApp("on", true)] } },
      "POST /v1/account": { status: 400, body: { error: "The OAuth2 application has no redirectUrl", code: "MissingRedirectUrl", statusCode: 400 } },
    });
    const go = vi.fn();
    wrap(<OAuthAccount go={go} />);
    await user.selectOptions(await screen.findByLabelText("OAuth2 app"), "on");
    await user.type(screen.getByLabelText("Display name"), "Carol");
    await user.click(screen.getByRole("button", { name: "Continue to the provider's consent page" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The OAuth2 application has no redirectUrl");
    expect(go).not.toHaveBeenCalled();
    // An empty id is sent as null (the server generates one); a missing key would be refused.
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ account: null, name: "Carol" });
  });
});

const accountList = {
  status: 200,
  body: { total: 1, page: 0, pages: 1, accounts: [{ account: "carol", name: "Carol", email: "carol@example.com", state: "connecting", lastError: null }] },
};

describe("Accounts after a consent", () => {
  it("announces the new account, and does not take the outcome for the state filter", async () => {
    const calls = scriptFetch({ "GET /v1/accounts": accountList });
    wrap(<Accounts />, "/accounts?oauth2=done&account=carol&state=new");
    const notice = await screen.findByRole("status");
    expect(notice).toHaveTextContent("Account added: carol is registered");
    expect(within(notice).getByRole("link", { name: "carol" })).toHaveAttribute("href", "/accounts/carol");
    expect(await screen.findByRole("link", { name: "Carol" })).toBeInTheDocument();
    expect(calls.filter((c) => c.url.startsWith("/v1/accounts")).every((c) => !c.url.includes("state="))).toBe(true);
    expect(screen.getByLabelText("Filter by state")).toHaveValue("");
  });

  it("shows the provider's error text, and Dismiss clears it", async () => {
    const user = userEvent.setup();
    scriptFetch({ "GET /v1/accounts": accountList });
    wrap(<Accounts />, "/accounts?oauth2=done&error=access_denied&error_description=The%20user%20said%20no");
    expect(await screen.findByRole("alert")).toHaveTextContent("The OAuth2 sign-in did not add an account: The user said no (access_denied)");
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("still filters by state without a consent outcome", async () => {
    const calls = scriptFetch({ "GET /v1/accounts": accountList });
    wrap(<Accounts />, "/accounts?state=connected");
    await screen.findByRole("link", { name: "Carol" });
    expect(calls.some((c) => c.url.includes("state=connected"))).toBe(true);
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });
});

const oauthAccount = {
  account: "olivia",
  name: "Olivia",
  email: "olivia@example.com",
  state: "connected",
  type: "oauth2",
  imap: null,
  smtp: null,
  oauth2: { provider: "corp", auth: { user: "olivia@example.com" } },
};

describe("editing an OAuth2 account", () => {
  it("shows no password form, and saves only the name and address", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({
      "GET /v1/account/olivia": { status: 200, body: oauthAccount },
      "PUT /v1/account/olivia": { status: 200, body: { account: "olivia" } },
      "GET /v1/oauth2/corp": { status: 200, body: oauthApp("corp", true) },
    });
    wrap(
      <Routes>
        <Route path="/accounts/:account/edit" element={<AccountForm />} />
        <Route path="/accounts/:account" element={<p>Account page</p>} />
      </Routes>,
      "/accounts/olivia/edit",
    );
    const form = await screen.findByRole("form", { name: "Edit olivia" });
    expect(screen.queryByRole("group", { name: "IMAP" })).not.toBeInTheDocument();
    expect(await screen.findByText("App corp")).toBeInTheDocument();
    expect(screen.getByText(/signs in through the OAuth2 app/)).toHaveTextContent("the OAuth2 app App corp as olivia@example.com");
    await user.clear(within(form).getByLabelText("Display name"));
    await user.type(within(form).getByLabelText("Display name"), "Olivia A.");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Account page")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ name: "Olivia A.", email: "olivia@example.com" });
  });

  it("signs in again through the same app, keeping the account id", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({ "POST /v1/account": { status: 200, body: { redirect: "https://idp.example.com/authorize?state=xyz" } } });
    const go = vi.fn();
    wrap(<OAuthAccountEdit account={oauthAccount as never} go={go} />);
    await user.click(screen.getByRole("button", { name: "Sign in again at the provider" }));
    await vi.waitFor(() => expect(go).toHaveBeenCalledWith("https://idp.example.com/authorize?state=xyz"));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      account: "olivia",
      name: "Olivia",
      email: "olivia@example.com",
      oauth2: { provider: "corp", authorize: true, redirectUrl: consentReturnUrl() },
    });
  });
});

describe("Accounts after signing in again", () => {
  it("says the existing account has new tokens", async () => {
    scriptFetch({ "GET /v1/accounts": accountList });
    wrap(<Accounts />, "/accounts?oauth2=done&account=carol&state=existing");
    expect(await screen.findByRole("status")).toHaveTextContent("Signed in again: the account carol has new OAuth2 tokens.");
  });
});
