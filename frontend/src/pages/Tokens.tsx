// Access tokens: list, issue (the value is shown once), revoke.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, enc, get, qs, type Schemas } from "../api/client";
import { ConfirmButton, CopyButton, ErrorText, QueryView, Time } from "../components/ui";

const SCOPES = ["api", "metrics", "smtp", "imap-proxy"];

function IssueForm() {
  const queryClient = useQueryClient();
  const accounts = useQuery({ queryKey: ["accounts", "all"], queryFn: () => get<Schemas["AccountList"]>(`/v1/accounts${qs({ pageSize: 250 })}`) });
  const [account, setAccount] = useState("");
  const [description, setDescription] = useState("");
  const [scopes, setScopes] = useState<string[]>(["api"]);
  const [issued, setIssued] = useState<string | null>(null);
  const issue = useMutation({
    mutationFn: () => api<Schemas["TokenCreated"]>("POST", "/v1/token", { account, description, scopes }),
    onSuccess: (result) => {
      setIssued(result.token);
      setDescription("");
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setIssued(null);
    issue.mutate();
  };
  return (
    <article>
      <h2>Issue a token</h2>
      <p className="small muted">Tokens issued here are bound to one account. System-wide tokens come from <code>mailgate tokens issue</code>.</p>
      <form onSubmit={submit} aria-label="Issue a token">
        <div className="grid">
          <label>
            Account
            <select required value={account} onChange={(e) => setAccount(e.target.value)} aria-busy={accounts.isPending || undefined}>
              <option value="">Choose…</option>
              {accounts.data?.accounts.map((a) => (
                <option key={a.account} value={a.account}>
                  {a.name ? `${a.name} (${a.account})` : a.account}
                </option>
              ))}
            </select>
          </label>
          <label>
            Description
            <input name="description" required maxLength={1024} value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="inline">
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" aria-busy={issue.isPending || undefined} disabled={issue.isPending || scopes.length === 0}>
          Issue token
        </button>
        <ErrorText error={accounts.error} />
        <ErrorText error={issue.error} />
      </form>
      {issued && (
        <div className="once" role="status">
          <p>The new token, shown only now: copy it somewhere safe.</p>
          <code className="secret" data-testid="issued-token">
            {issued}
          </code>{" "}
          <CopyButton text={issued} />
        </div>
      )}
    </article>
  );
}

export function Tokens() {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => get<Schemas["TokenList"]>("/v1/tokens") });
  const revoke = useMutation({
    mutationFn: (id: string) => api("DELETE", `/v1/token/${enc(id)}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["tokens"] }),
  });
  return (
    <>
      <h1>Access tokens</h1>
      <IssueForm />
      <ErrorText error={revoke.error} />
      <QueryView query={tokens} what="Tokens" isEmpty={(d) => d.tokens.length === 0} empty="No tokens.">
        {(d) => (
          <div className="table">
            <table aria-label="Tokens">
              <thead>
                <tr>
                  <th scope="col">Description</th>
                  <th scope="col">Account</th>
                  <th scope="col">Scopes</th>
                  <th scope="col" className="hide-sm">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {d.tokens.map((t) => (
                  <tr key={t.id}>
                    <td>
                      {t.description || <span className="muted">(none)</span>}
                      <div className="muted small mono">{t.id.slice(0, 12)}…</div>
                    </td>
                    <td>{t.account ?? "all accounts"}</td>
                    <td>{t.scopes.join(", ")}</td>
                    <td className="small hide-sm">
                      {t.lastUsed ? (
                        <>
                          <Time value={t.lastUsed} />
                          {t.remoteAddress ? ` from ${t.remoteAddress}` : ""}
                        </>
                      ) : (
                        "never"
                      )}
                    </td>
                    <td>
                      <ConfirmButton
                        label="Revoke"
                        question={`Revoke the token "${t.description || t.id.slice(0, 12)}"? Clients using it stop working at once.`}
                        confirmLabel="Revoke token"
                        busy={revoke.isPending && revoke.variables === t.id}
                        onConfirm={() => revoke.mutate(t.id)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </>
  );
}
