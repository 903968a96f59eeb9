// One account: live state, last error, counters, actions, mailboxes, messages and protocol log.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api, apiText, enc, get, qs, type Schemas } from "../api/client";
import type { AccountState } from "../api/graphql";
import { useAccountState } from "../api/live";
import { Badge, ConfirmButton, ErrorText, Pager, QueryView, Time, formatBytes } from "../components/ui";

function Actions({ account }: { account: string }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [done, setDone] = useState("");
  const action = useMutation({
    mutationFn: async (kind: "reconnect" | "sync" | "delete") => {
      if (kind === "delete") await api("DELETE", `/v1/account/${enc(account)}`);
      else await api("PUT", `/v1/account/${enc(account)}/${kind}`, { [kind]: true });
      return kind;
    },
    onSuccess: (kind) => {
      if (kind === "delete") {
        void queryClient.invalidateQueries({ queryKey: ["accounts"] });
        navigate("/accounts");
        return;
      }
      setDone(kind === "sync" ? "Sync requested." : "Reconnect requested.");
      void queryClient.invalidateQueries({ queryKey: ["account", account] });
    },
  });
  const busy = action.isPending;
  return (
    <div>
      <div className="actions">
        <button type="button" className="secondary" disabled={busy} aria-busy={(busy && action.variables === "reconnect") || undefined} onClick={() => action.mutate("reconnect")}>
          Reconnect
        </button>
        <button type="button" className="secondary" disabled={busy} aria-busy={(busy && action.variables === "sync") || undefined} onClick={() => action.mutate("sync")}>
          Sync now
        </button>
        <Link to={`/accounts/${enc(account)}/edit`} role="button" className="secondary">
          Edit
        </Link>
        <ConfirmButton
          label="Delete"
          className="danger"
          question={`Delete account ${account}? Its index and settings are removed; the mailbox itself is not touched.`}
          confirmLabel="Delete account"
          busy={busy && action.variables === "delete"}
          onConfirm={() => action.mutate("delete")}
        />
      </div>
      {done && <p role="status">{done}</p>}
      <ErrorText error={action.error} />
    </div>
  );
}

function Overview({ info, live }: { info: Schemas["AccountInfo"]; live: AccountState | null }) {
  const state = live ? live.state : info.state;
  const lastError = live ? live.lastError : info.lastError;
  const syncTime = live ? live.syncTime : info.syncTime;
  const counters = Object.entries(info.counters ?? {});
  return (
    <article>
      <dl className="facts">
        <div>
          <dt>State</dt>
          <dd data-testid="account-state">
            <Badge value={state} />
          </dd>
        </div>
        <div>
          <dt>Email</dt>
          <dd>{info.email ?? "—"}</dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>{info.type}</dd>
        </div>
        <div>
          <dt>Last sync</dt>
          <dd>
            <Time value={syncTime ?? null} />
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <Time value={info.created} />
          </dd>
        </div>
      </dl>
      {lastError ? (
        <div className="error-text" role="alert">
          <strong>Last error</strong>
          <pre>{JSON.stringify(lastError, null, 2)}</pre>
        </div>
      ) : null}
      {counters.length > 0 && (
        <details>
          <summary>Counters</summary>
          <dl className="counts">
            {counters.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
    </article>
  );
}

function Mailboxes({ account, onOpen }: { account: string; onOpen: (path: string) => void }) {
  const mailboxes = useQuery({
    queryKey: ["mailboxes", account],
    queryFn: () => get<Schemas["MailboxList"]>(`/v1/account/${enc(account)}/mailboxes?counters=true`),
  });
  return (
    <QueryView query={mailboxes} what="Mailboxes" isEmpty={(d) => d.mailboxes.length === 0} empty="No mailboxes indexed yet.">
      {(d) => (
        <div className="table">
          <table>
            <thead>
              <tr>
                <th scope="col">Mailbox</th>
                <th scope="col" className="hide-sm">Special use</th>
                <th scope="col">Messages</th>
                <th scope="col">Unseen</th>
              </tr>
            </thead>
            <tbody>
              {d.mailboxes.map((m) => (
                <tr key={m.path}>
                  <td>
                    {m.noSelect ? (
                      m.path
                    ) : (
                      <button type="button" className="link" onClick={() => onOpen(m.path)}>
                        {m.path}
                      </button>
                    )}
                  </td>
                  <td className="hide-sm">{m.specialUse ?? ""}</td>
                  <td>{m.status?.messages ?? m.messages}</td>
                  <td>{m.status?.unseen ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </QueryView>
  );
}

function Messages({ account, path }: { account: string; path: string }) {
  const [page, setPage] = useState(0);
  const messages = useQuery({
    queryKey: ["messages", account, path, page],
    queryFn: () => get<Schemas["MessageList"]>(`/v1/account/${enc(account)}/messages${qs({ path, page, pageSize: 20 })}`),
    placeholderData: (previous) => previous,
  });
  return (
    <QueryView query={messages} what="Messages" isEmpty={(d) => d.messages.length === 0} empty={`${path} is empty.`}>
      {(d) => (
        <>
          <div className="table">
            <table>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Date</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {d.messages.map((m) => (
                  <tr key={m.id} className={m.unseen ? "unseen" : ""}>
                    <td>{m.from ? m.from.name || m.from.address : "—"}</td>
                    <td>
                      <Link to={`/accounts/${enc(account)}/message/${enc(m.id)}`}>{m.subject || "(no subject)"}</Link>
                      {m.attachments.length > 0 && <span className="muted small"> · {m.attachments.length} attachment(s)</span>}
                    </td>
                    <td>
                      <Time value={m.date} />
                    </td>
                    <td>{formatBytes(m.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={d.page} pages={d.pages} onPage={setPage} />
        </>
      )}
    </QueryView>
  );
}

function ProtocolLog({ account }: { account: string }) {
  const url = `/v1/logs/${enc(account)}`;
  const log = useQuery({ queryKey: ["log", account], queryFn: () => apiText(url), retry: false });
  return (
    <QueryView query={log} what="The protocol log" isEmpty={(t) => t.trim() === ""} empty="The log is empty. Enable logging for this account to record IMAP and SMTP traffic.">
      {(text) => (
        <>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => log.refetch()} aria-busy={log.isFetching || undefined}>
              Refresh
            </button>
            <a href={url} download={`${account}.log`} role="button" className="secondary">
              Download
            </a>
          </div>
          <pre className="log" tabIndex={0} aria-label="Protocol log">
            {text}
          </pre>
        </>
      )}
    </QueryView>
  );
}

const TABS = ["mailboxes", "messages", "log"] as const;

export function AccountDetail() {
  const { account = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = (params.get("tab") as (typeof TABS)[number]) || "mailboxes";
  const path = params.get("path") || "INBOX";
  const info = useQuery({ queryKey: ["account", account], queryFn: () => get<Schemas["AccountInfo"]>(`/v1/account/${enc(account)}`) });
  const live = useAccountState(account);
  const queryClient = useQueryClient();
  // A new state, or the first completed sync, means new folders: the first sync indexes mailboxes
  // without a change event for each, so this is what brings a fresh account's folders in (later
  // changes arrive as message and mailbox events).
  const synced = live ? live.syncTime !== null && live.syncTime !== undefined : false;
  useEffect(() => {
    if (!live) return;
    void queryClient.invalidateQueries({ queryKey: ["mailboxes", account] });
    void queryClient.invalidateQueries({ queryKey: ["messages", account] });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queryClient, account, live?.state, synced]);
  const open = (tabName: string, extra: Record<string, string> = {}) => setParams({ tab: tabName, ...extra });
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link to="/accounts">Accounts</Link>
          </li>
          <li>{account}</li>
        </ul>
      </nav>
      <QueryView query={info} what="Account">
        {(a) => (
          <>
            <h1>{a.name || a.account}</h1>
            <Actions account={a.account} />
            <Overview info={a} live={live} />
            <nav aria-label="Account sections" className="tabs">
              {TABS.map((t) => (
                <button
                  key={t}
                  type="button"
                  aria-pressed={tab === t}
                  className={tab === t ? "" : "outline"}
                  onClick={() => open(t, t === "messages" ? { path } : {})}
                >
                  {t === "log" ? "Protocol log" : t[0].toUpperCase() + t.slice(1)}
                </button>
              ))}
            </nav>
            <section aria-label={tab === "log" ? "Protocol log" : tab}>
              {tab === "mailboxes" && <Mailboxes account={a.account} onOpen={(p) => open("messages", { path: p })} />}
              {tab === "messages" && (
                <>
                  <h2>{path}</h2>
                  <Messages account={a.account} path={path} />
                </>
              )}
              {tab === "log" && <ProtocolLog account={a.account} />}
            </section>
          </>
        )}
      </QueryView>
    </>
  );
}
