// OAuth2 apps (built on the EmailEngine-compatible /v1/oauth2 routes; "not available" when absent).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, enc, get, qs } from "../api/client";
import type { OAuthApp, OAuthAppInput, OAuthAppList, OAuthVerifyResult } from "../api/contract";
import { ErrorText, Pager, QueryView } from "../components/ui";

const PROVIDERS: OAuthApp["provider"][] = ["gmail", "gmailService", "outlook", "outlookService", "mailRu"];

function AppForm({ app, onDone }: { app: OAuthApp | null; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState<OAuthAppInput>({
    name: app?.name ?? "",
    description: app?.description ?? "",
    provider: app?.provider ?? "gmail",
    enabled: app?.enabled ?? true,
    clientId: app?.clientId ?? "",
    clientSecret: "",
    authority: app?.authority ?? "",
    redirectUrl: app?.redirectUrl ?? "",
  });
  const set = (patch: Partial<OAuthAppInput>) => setForm({ ...form, ...patch });
  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = { ...form };
      for (const key of Object.keys(body)) if (body[key] === "") delete body[key];
      if (app) {
        delete body.provider;
        return api("PUT", `/v1/oauth2/${enc(app.id)}`, body);
      }
      return api("POST", "/v1/oauth2", body);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["oauth2"] });
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} aria-label={app ? `Edit ${app.name}` : "Add an OAuth2 app"}>
      <div className="grid">
        <label>
          Name
          <input required value={form.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          Provider
          <select value={form.provider} disabled={!!app} onChange={(e) => set({ provider: e.target.value as OAuthApp["provider"] })}>
            {PROVIDERS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      </div>
      <label>
        Description
        <input value={form.description} onChange={(e) => set({ description: e.target.value })} />
      </label>
      <div className="grid">
        <label>
          Client id
          <input required={!app} value={form.clientId} onChange={(e) => set({ clientId: e.target.value })} autoComplete="off" />
        </label>
        <label>
          Client secret
          <input type="password" required={!app} placeholder={app ? "unchanged" : ""} value={form.clientSecret} onChange={(e) => set({ clientSecret: e.target.value })} autoComplete="new-password" />
        </label>
      </div>
      <div className="grid">
        <label>
          Redirect URL
          <input type="url" value={form.redirectUrl} onChange={(e) => set({ redirectUrl: e.target.value })} />
        </label>
        {form.provider?.startsWith("outlook") && (
          <label>
            Authority (tenant)
            <input value={form.authority} placeholder="common" onChange={(e) => set({ authority: e.target.value })} />
          </label>
        )}
      </div>
      <label>
        <input type="checkbox" role="switch" checked={!!form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
        Enabled
      </label>
      <div className="actions">
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" aria-busy={save.isPending || undefined} disabled={save.isPending}>
          Save
        </button>
      </div>
      <ErrorText error={save.error} />
    </form>
  );
}

function Verify({ app }: { app: OAuthApp }) {
  const verify = useMutation({ mutationFn: () => api<OAuthVerifyResult>("POST", `/v1/oauth2/${enc(app.id)}/verify`, {}) });
  return (
    <>
      <button type="button" className="outline" aria-busy={verify.isPending || undefined} disabled={verify.isPending} onClick={() => verify.mutate()}>
        Verify
      </button>
      {verify.data && (
        <ul className="small" aria-live="polite">
          {verify.data.steps.map((s) => (
            <li key={s.id} className={s.status === "fail" ? "bad-text" : ""}>
              {s.label}: {s.status} {s.message ?? ""}
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={verify.error} />
    </>
  );
}

export function OAuthApps() {
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<OAuthApp | "new" | null>(null);
  const apps = useQuery({ queryKey: ["oauth2", page], queryFn: () => get<OAuthAppList>(`/v1/oauth2${qs({ page, pageSize: 20 })}`), retry: false });
  const available = !apps.isError || !("routeMissing" in apps.error && apps.error.routeMissing);
  return (
    <>
      <div className="title-row">
        <h1>OAuth2 apps</h1>
        {available && apps.isSuccess && editing === null && (
          <button type="button" onClick={() => setEditing("new")}>
            Add app
          </button>
        )}
      </div>
      {editing !== null && (
        <article>
          <AppForm app={editing === "new" ? null : editing} onDone={() => setEditing(null)} />
        </article>
      )}
      <QueryView query={apps} what="Managing OAuth2 apps" isEmpty={(d) => d.apps.length === 0} empty="No OAuth2 apps yet.">
        {(d) => (
          <>
            <div className="table">
              <table aria-label="OAuth2 apps">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Accounts</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.apps.map((a) => (
                    <tr key={a.id}>
                      <td>
                        {a.name}
                        {a.lastError && <div className="bad-text small">{a.lastError.description ?? a.lastError.response}</div>}
                      </td>
                      <td>{a.provider}</td>
                      <td>{a.enabled ? "yes" : "no"}</td>
                      <td>{a.accounts ?? "—"}</td>
                      <td className="actions">
                        <button type="button" className="secondary" onClick={() => setEditing(a)}>
                          Edit
                        </button>
                        <Verify app={a} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={d.page} pages={d.pages} onPage={setPage} />
          </>
        )}
      </QueryView>
    </>
  );
}
