import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scriptFetch } from "../test/fetch";
import { AccountForm } from "./AccountForm";

afterEach(() => vi.unstubAllGlobals());

describe("AccountForm", () => {
  it("sends an empty account id as null, so the server generates one, and opens that account", async () => {
    const user = userEvent.setup();
    const calls = scriptFetch({ "POST /v1/account": { status: 200, body: { account: "a1b2c3", state: "new" } } });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/accounts/new"]}>
          <Routes>
            <Route path="/accounts/new" element={<AccountForm />} />
            <Route path="/accounts/:account" element={<p>Account page</p>} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    await user.type(screen.getByLabelText("Display name"), "Dana");
    const imap = screen.getByRole("group", { name: "IMAP" });
    await user.type(within(imap).getByLabelText("Host"), "imap.example.com");
    await user.type(within(imap).getByLabelText("User name"), "dana");
    await user.type(within(imap).getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("switch", { name: "Send mail through SMTP" }));
    await user.click(screen.getByRole("button", { name: "Add account" }));
    expect(await screen.findByText("Account page")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ account: null, name: "Dana", smtp: false });
  });
});
