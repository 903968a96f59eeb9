import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { Badge, ConfirmButton, ErrorText, Pager, QueryView } from "./ui";

function Harness({ fn, isEmpty }: { fn: () => Promise<string[]>; isEmpty?: (d: string[]) => boolean }) {
  const query = useQuery({ queryKey: ["x"], queryFn: fn, retry: false });
  return (
    <QueryView query={query} what="Widgets" isEmpty={isEmpty} empty="No widgets.">
      {(d) => <p>{d.join(",")}</p>}
    </QueryView>
  );
}

const wrap = (ui: React.ReactNode) => render(<QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>);

describe("QueryView", () => {
  it("shows loading, then the data", async () => {
    wrap(<Harness fn={async () => ["a", "b"]} />);
    expect(screen.getByText("Loading…")).toHaveAttribute("aria-busy", "true");
    expect(await screen.findByText("a,b")).toBeInTheDocument();
  });

  it("shows the empty state", async () => {
    wrap(<Harness fn={async () => []} isEmpty={(d) => d.length === 0} />);
    expect(await screen.findByText("No widgets.")).toBeInTheDocument();
  });

  it("shows the API's error text with a retry button", async () => {
    wrap(<Harness fn={() => Promise.reject(new ApiError(403, "This token lacks the 'api' scope", "Forbidden"))} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("This token lacks the 'api' scope");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("says 'not available' when the server has no such route", async () => {
    wrap(<Harness fn={() => Promise.reject(new ApiError(404, "Route not found", "NotFound"))} />);
    expect(await screen.findByRole("status")).toHaveTextContent("Not available on this server. Widgets needs");
  });
});

describe("ErrorText", () => {
  it("lists field details", () => {
    render(<ErrorText error={new ApiError(400, "Invalid", "InvalidRequest", { "imap.host": "required" })} />);
    expect(screen.getByRole("alert")).toHaveTextContent("imap.host: required");
  });
});

describe("ConfirmButton", () => {
  it("acts only after confirmation, and Cancel does nothing", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    render(<ConfirmButton label="Delete" question="Delete it?" confirmLabel="Delete for good" onConfirm={onConfirm} />);
    await user.click(screen.getByRole("button", { name: "Delete" }));
    expect(screen.getByText("Delete it?")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onConfirm).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Delete" }));
    await user.click(screen.getByRole("button", { name: "Delete for good" }));
    expect(onConfirm).toHaveBeenCalledOnce();
  });
});

describe("Pager and Badge", () => {
  it("pages within bounds", async () => {
    const user = userEvent.setup();
    const onPage = vi.fn();
    render(<Pager page={0} pages={3} onPage={onPage} />);
    expect(screen.getByRole("button", { name: "Previous" })).toBeDisabled();
    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(onPage).toHaveBeenCalledWith(1);
  });

  it("colours states by meaning", () => {
    render(
      <>
        <Badge value="connected" />
        <Badge value="authenticationError" />
        <Badge value={null} />
      </>,
    );
    expect(screen.getByText("connected")).toHaveClass("ok");
    expect(screen.getByText("authenticationError")).toHaveClass("bad");
    expect(screen.getByText("deleted")).toHaveClass("off");
  });
});
