// OAuth2 accounts in the admin UI: adding one through a provider's consent page, and editing one
// (name and address only; its tokens are renewed by signing in again, never typed in).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { api, enc, get, type Schemas } from "../api/client";
import { ErrorText, QueryView } from "../components/ui";

type Go = (url: string) => void;
const assign: Go = (url) => window.location.assign(url);

/** Where the provider's consent ends: the account list, which reads the outcome from the query. */
export function consentReturnUrl(): string {
  return `${window.location.origin}/admin/accounts?oauth2=done`;
}

/** Registers an account through an OAuth2 app: the server answers with the provider's consent
 * URL, the browser goes there, and the provider's redirect brings it back to the account list. */
export function OAuthAccount({ go = assign }: { go?: Go }) {
  const apps = useQuery({ queryKey: ["oauth2", "enabled"], queryFn: () => get<Schemas["OAuthAppList"]>("/v1/oauth2?pageSize=250") });
  const [app, setApp] = useState("");
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const start = useMutation({
    mutationFn: () =>
      api<Schemas["RegisterResult"]>("POST", "/v1/account", {
        account: id.trim() || null,
        name: name.trim(),
        email: email.trim() || undefined,
        oauth2: { provider: app, authorize: true, redirectUrl: consentReturnUrl() },
      }),
    onSuccess: (result) => {
      if (result.redirect) go(result.redirect);
    },
  });
  const enabled = (d: Schemas["OAuthAppList"]) => d.apps.filter((a) => a.enabled);
  return (
    <QueryView
      query={apps}
      what="OAuth2 apps"
      isEmpty={(d) => enabled(d).length === 0}
      empty={
        <>
          No enabled OAuth2 app is set up. <Link to="/oauth2">Add one first.</Link>
        </>
      }
    >
      {(d) => (
        <form
          aria-label="Add an account through OAuth2"
          onSubmit={(e) => {
            e.preventDefault();
            start.mutate();
          }}
        >
          <label>
            OAuth2 app
            <select required value={app} onChange={(e) => setApp(e.target.value)}>
              <option value="">Choose…</option>
              {enabled(d).map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.provider})
                </option>
              ))}
            </select>
          </label>
          <div className="grid">
            <label>
              Account id
              <input name="account" value={id} onChange={(e) => setId(e.target.value)} placeholder="generated when empty" pattern="[A-Za-z0-9._\-]+" />
            </label>
            <label>
              Display name
              <input required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              Email address
              <input type="email" value={email} placeholder="optional: a hint for the provider" onChange={(e) => setEmail(e.target.value)} />
            </label>
          </div>
          <button type="submit" aria-busy={start.isPending || undefined} disabled={start.isPending || (start.isSuccess && !!start.data.redirect)}>
            Continue to the provider's consent page
          </button>
          {start.isSuccess && !start.data.redirect && <p role="status">The server did not return a consent URL.</p>}
          <ErrorText error={start.error} />
        </form>
      )}
    </QueryView>
  );
}

/** An OAuth2 account's settings: the password form does not apply (saving it would turn the
 * account into a password account), so only the name and address change here. */
export function OAuthAccountEdit({ account, go = assign }: { account: Schemas["AccountInfo"]; go?: Go }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState(account.name);
  const [email, setEmail] = useState(account.email ?? "");
  const provider = account.oauth2?.provider ?? null;
  const app = useQuery({
    queryKey: ["oauth2", "app", provider],
    enabled: provider !== null,
    queryFn: () => get<Schemas["OAuthAppInfo"]>(`/v1/oauth2/${enc(provider!)}`),
  });
  const save = useMutation({
    mutationFn: () => api("PUT", `/v1/account/${enc(account.account)}`, { name: name.trim(), email: email.trim() || null }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["accounts"] });
      void queryClient.invalidateQueries({ queryKey: ["account", account.account] });
      navigate(`/accounts/${enc(account.account)}`);
    },
  });
  const again = useMutation({
    mutationFn: () =>
      api<Schemas["RegisterResult"]>("POST", "/v1/account", {
        account: account.account,
        name: account.name,
        email: account.email ?? undefined,
        oauth2: { provider, authorize: true, redirectUrl: consentReturnUrl() },
      }),
    onSuccess: (result) => {
      if (result.redirect) go(result.redirect);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <>
      <form onSubmit={submit} aria-label={`Edit ${account.account}`}>
        <div className="grid">
          <label>
            Display name
            <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Email address
            <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
        </div>
        <button type="submit" aria-busy={save.isPending || undefined} disabled={save.isPending}>
          Save changes
        </button>
        <ErrorText error={save.error} />
      </form>
      <article>
        <p>
          This account signs in through the OAuth2 app <strong>{app.data?.name ?? provider ?? "unknown"}</strong>
          {account.oauth2?.auth?.user ? ` as ${account.oauth2.auth.user}` : ""}. When its access is revoked or expired, sign in again at the
          provider: the account keeps its id and data.
        </p>
        <button type="button" className="secondary" disabled={!provider || again.isPending} aria-busy={again.isPending || undefined} onClick={() => again.mutate()}>
          Sign in again at the provider
        </button>
        <ErrorText error={again.error} />
      </article>
    </>
  );
}
