import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { get, qs, type Schemas } from "../api/client";
import { useAccountState } from "../api/live";
import { Badge, Pager, QueryView } from "../components/ui";
import { describeError } from "./Dashboard";

const STATES = ["", "connected", "connecting", "syncing", "init", "authenticationError", "connectError", "disconnected"];

/** The state badge of one account, following the live accountState stream. */
export function LiveBadge({ account, initial }: { account: string; initial: string }) {
  const live = useAccountState(account);
  return <Badge value={live ? live.state : initial} />;
}

/** The query the server adds when an OAuth2 consent ends here (see AccountForm's consentReturnUrl);
 * its `state` is the registration outcome, not the state filter. */
const CONSENT_PARAMS = ["oauth2", "account", "state", "error", "error_description"];

function ConsentOutcome({ params, onDismiss }: { params: URLSearchParams; onDismiss: () => void }) {
  const error = params.get("error");
  const account = params.get("account");
  const dismiss = (
    <button type="button" className="secondary" onClick={onDismiss}>
      Dismiss
    </button>
  );
  if (error) {
    return (
      <article className="consent-outcome">
        <div role="alert" className="error-text">
          <strong>The OAuth2 sign-in did not add an account:</strong> {params.get("error_description") || error} <code>({error})</code>
        </div>
        {dismiss}
      </article>
    );
  }
  if (!account) return null;
  return (
    <article className="consent-outcome">
      <p className="ok-text" role="status">
        {params.get("state") === "existing" ? "Signed in again: the account " : "Account added: "}
        <Link to={`/accounts/${encodeURIComponent(account)}`}>{account}</Link>
        {params.get("state") === "existing" ? " has new OAuth2 tokens." : " is registered and starts connecting."}
      </p>
      {dismiss}
    </article>
  );
}

export function Accounts() {
  const [params, setParams] = useSearchParams();
  const consent = params.get("oauth2") === "done";
  const page = Number(params.get("page") || 0);
  const query = params.get("q") || "";
  const state = consent ? "" : params.get("state") || "";
  const [search, setSearch] = useState(query);
  useEffect(() => setSearch(query), [query]);
  const accounts = useQuery({
    queryKey: ["accounts", { page, query, state }],
    queryFn: () => get<Schemas["AccountList"]>(`/v1/accounts${qs({ page, pageSize: 20, query, state })}`),
    placeholderData: (previous) => previous,
  });
  const update = (next: Record<string, string | number>) => {
    const merged = new URLSearchParams(params);
    if (consent) for (const k of CONSENT_PARAMS) merged.delete(k);
    for (const [k, v] of Object.entries(next)) {
      if (v === "" || v === 0) merged.delete(k);
      else merged.set(k, String(v));
    }
    setParams(merged);
  };
  return (
    <>
      <div className="title-row">
        <h1>Accounts</h1>
        <Link to="/accounts/new" role="button">
          Add account
        </Link>
      </div>
      {consent && <ConsentOutcome params={params} onDismiss={() => update({})} />}
      <form
        className="searchbar"
        aria-label="Search accounts"
        onSubmit={(e) => {
          e.preventDefault();
          update({ q: search.trim(), page: 0 });
        }}
      >
        <input type="search" aria-label="Search accounts by id, name or email" placeholder="Search by id, name or email" value={search} onChange={(e) => setSearch(e.target.value)} />
        <select aria-label="Filter by state" value={state} onChange={(e) => update({ state: e.target.value, page: 0 })}>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s || "Any state"}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
      </form>
      <QueryView
        query={accounts}
        what="Accounts"
        isEmpty={(d) => d.accounts.length === 0}
        empty={query || state ? "No account matches." : "No accounts yet. Add one to start syncing."}
      >
        {(d) => (
          <>
            <div className="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Account</th>
                    <th scope="col" className="hide-sm">Email</th>
                    <th scope="col">State</th>
                    <th scope="col">Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {d.accounts.map((a) => (
                    <tr key={a.account}>
                      <td>
                        <Link to={`/accounts/${encodeURIComponent(a.account)}`}>{a.name || a.account}</Link>
                        <div className="muted small">{a.account}</div>
                      </td>
                      <td className="hide-sm">{a.email ?? "—"}</td>
                      <td>
                        <LiveBadge account={a.account} initial={a.state} />
                      </td>
                      <td className="small">{describeError(a.lastError)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted small">{d.total} accounts</p>
            <Pager page={d.page} pages={d.pages} onPage={(p) => update({ page: p })} />
          </>
        )}
      </QueryView>
    </>
  );
}
