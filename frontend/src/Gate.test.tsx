import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Gate } from "./Gate";
import { scriptFetch } from "./test/fetch";

vi.mock("./Layout", () => ({ Layout: () => <p>The app</p> }));

afterEach(() => vi.unstubAllGlobals());

const renderGate = () =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <Gate />
      </MemoryRouter>
    </QueryClientProvider>,
  );

const session = (over: object) => ({
  status: 200,
  body: { passwordSet: true, setupAllowed: false, signedIn: false, csrfToken: null, method: null, ...over },
});

describe("Gate", () => {
  it("shows the API's message for a wrong password, then signs in", async () => {
    const user = userEvent.setup();
    let attempts = 0;
    const calls = scriptFetch({
      "GET /admin/api/session": session({}),
      "POST /admin/api/login": () =>
        ++attempts === 1
          ? { status: 401, body: { error: "Wrong password", code: "WrongPassword", statusCode: 401 } }
          : { status: 200, body: { signedIn: true, csrfToken: "c1" } },
    });
    renderGate();
    await user.type(await screen.findByLabelText("Admin password"), "nope");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("The app")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")[0].body).toEqual({ password: "nope" });
  });

  it("signs in with an API token", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({
      "GET /admin/api/session": session({}),
      "POST /admin/api/login": { status: 200, body: { signedIn: true, csrfToken: "c1" } },
    });
    renderGate();
    await user.click(await screen.findByRole("button", { name: "API token" }));
    await user.type(screen.getByLabelText(/API token/), " abc ");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("The app")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ token: "abc" });
  });

  it("offers first-run set-up from this machine and checks the repeat", async () => {
    const user = userEvent.setup();
    scriptFetch({
      "GET /admin/api/session": session({ passwordSet: false, setupAllowed: true }),
      "POST /admin/api/setup": { status: 200, body: { signedIn: true, csrfToken: "c1" } },
    });
    renderGate();
    await user.type(await screen.findByLabelText("Admin password"), "long enough pw");
    await user.type(screen.getByLabelText("Repeat the password"), "different pw!!");
    await user.click(screen.getByRole("button", { name: "Set password and sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The two passwords differ");
    await user.clear(screen.getByLabelText("Repeat the password"));
    await user.type(screen.getByLabelText("Repeat the password"), "long enough pw");
    await user.click(screen.getByRole("button", { name: "Set password and sign in" }));
    expect(await screen.findByText("The app")).toBeInTheDocument();
  });

  it("explains how to set the first password from elsewhere", async () => {
    scriptFetch({ "GET /admin/api/session": session({ passwordSet: false, setupAllowed: false }) });
    renderGate();
    expect(await screen.findByText("mailgate admin password")).toBeInTheDocument();
  });

  it("goes straight to the app with a live session", async () => {
    scriptFetch({ "GET /admin/api/session": session({ signedIn: true, csrfToken: "c1", method: "password" }) });
    renderGate();
    expect(await screen.findByText("The app")).toBeInTheDocument();
  });
});
