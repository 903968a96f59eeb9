// OAuth2 apps: the /v1/oauth2 routes (EmailEngine's providers plus a generic OAuth2 provider),
// with the settings in effect shown read-only and the verify result as a list of steps.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, enc, get, qs, type Schemas } from "../api/client";
import { ConfirmButton, ErrorText, Pager, QueryView } from "../components/ui";

export type OAuthApp = Schemas["OAuthAppInfo"];
type Provider = Schemas["OAuthAppCreate"]["provider"];
type VerifyResult = Schemas["VerifyAppResult"];

const PROVIDERS: Provider[] = ["gmail", "gmailService", "outlook", "outlookService", "mailRu", "generic"];

export interface ServerForm {
  host: string;
  port: string;
  secure: boolean;
}

export interface AppFormState {
  name: string;
  description: string;
  provider: Provider;
  enabled: boolean;
  clientId: string;
  clientSecret: string;
  authority: string;
  redirectUrl: string;
  authorizationUrl: string;
  tokenUrl: string;
  userInfoUrl: string;
  /** Space- or comma-separated, as an operator pastes them from the provider's documentation. */
  scopes: string;
  imap: ServerForm;
  smtp: ServerForm;
}

function serverForm(value: unknown, port: number): ServerForm {
  const s = (value && typeof value === "object" ? value : {}) as { host?: string; port?: number | null; secure?: boolean };
  return { host: s.host ?? "", port: String(s.port ?? port), secure: s.secure ?? true };
}

export function initialForm(app: OAuthApp | null): AppFormState {
  const generic = app?.provider === "generic";
  return {
    name: app?.name ?? "",
    description: app?.description ?? "",
    provider: (app?.provider as Provider | undefined) ?? "gmail",
    enabled: app?.enabled ?? true,
    clientId: app?.clientId ?? "",
    clientSecret: "",
    authority: app?.authority ?? "",
    redirectUrl: app?.redirectUrl ?? "",
    authorizationUrl: app?.authorizationUrl ?? "",
    tokenUrl: app?.tokenUrl ?? "",
    userInfoUrl: app?.userInfoUrl ?? "",
    scopes: generic ? (app?.scopes ?? []).join(" ") : "",
    imap: serverForm(generic ? app?.imap : null, 993),
    smtp: serverForm(generic ? app?.smtp : null, 465),
  };
}

const server = (s: ServerForm) => ({ host: s.host.trim(), port: Number(s.port), secure: s.secure });

/** The JSON for POST (new) or PUT (existing): blank fields are left out, so an empty secret keeps
 * the stored one, and the generic provider's endpoints and servers go only with that provider. */
export function appBody(form: AppFormState, existing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    description: form.description.trim(),
    enabled: form.enabled,
    clientId: form.clientId.trim(),
    clientSecret: form.clientSecret,
    redirectUrl: form.redirectUrl.trim(),
  };
  if (!existing) body.provider = form.provider;
  if (form.provider.startsWith("outlook")) body.authority = form.authority.trim();
  if (form.provider === "generic") {
    body.authorizationUrl = form.authorizationUrl.trim();
    body.tokenUrl = form.tokenUrl.trim();
    body.userInfoUrl = form.userInfoUrl.trim();
    const scopes = form.scopes.split(/[\s,]+/).filter(Boolean);
    if (scopes.length) body.scopes = scopes;
    body.imap = server(form.imap);
    if (form.smtp.host.trim()) body.smtp = server(form.smtp);
  }
  for (const key of Object.keys(body)) if (body[key] === "") delete body[key];
  // Emptied on an existing app: false clears the stored URL (a missing field would keep it).
  if (existing && !form.redirectUrl.trim()) body.redirectUrl = false;
  return body;
}

function ServerFields({ legend, value, onChange, required }: { legend: string; value: ServerForm; onChange: (s: ServerForm) => void; required: boolean }) {
  const set = (patch: Partial<ServerForm>) => onChange({ ...value, ...patch });
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div className="grid">
        <label>
          Host
          <input required={required} value={value.host} onChange={(e) => set({ host: e.target.value })} autoComplete="off" />
        </label>
        <label>
          Port
          <input type="number" min={1} max={65535} required={required || value.host !== ""} value={value.port} onChange={(e) => set({ port: e.target.value })} />
        </label>
      </div>
      <label>
        <input type="checkbox" role="switch" checked={value.secure} onChange={(e) => set({ secure: e.target.checked })} />
        TLS from the start (off: STARTTLS)
      </label>
    </fieldset>
  );
}

function GenericFields({ form, set }: { form: AppFormState; set: (patch: Partial<AppFormState>) => void }) {
  return (
    <>
      <div className="grid">
        <label>
          Authorization URL
          <input type="url" required value={form.authorizationUrl} onChange={(e) => set({ authorizationUrl: e.target.value })} />
        </label>
        <label>
          Token URL
          <input type="url" required value={form.tokenUrl} onChange={(e) => set({ tokenUrl: e.target.value })} />
        </label>
      </div>
      <div className="grid">
        <label>
          User info URL
          <input type="url" value={form.userInfoUrl} placeholder="optional: else the id_token" onChange={(e) => set({ userInfoUrl: e.target.value })} />
        </label>
        <label>
          Scopes
          <input value={form.scopes} placeholder="e.g. openid email offline_access" onChange={(e) => set({ scopes: e.target.value })} />
        </label>
      </div>
      <ServerFields legend="IMAP server" value={form.imap} onChange={(imap) => set({ imap })} required />
      <ServerFields legend="SMTP server (optional)" value={form.smtp} onChange={(smtp) => set({ smtp })} required={false} />
    </>
  );
}

function AppForm({ app, onDone }: { app: OAuthApp | null; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState<AppFormState>(() => initialForm(app));
  const set = (patch: Partial<AppFormState>) => setForm((f) => ({ ...f, ...patch }));
  const save = useMutation({
    mutationFn: () =>
      app ? api<unknown>("PUT", `/v1/oauth2/${enc(app.id)}`, appBody(form, true)) : api<unknown>("POST", "/v1/oauth2", appBody(form, false)),
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
          <select value={form.provider} disabled={!!app} onChange={(e) => set({ provider: e.target.value as Provider })}>
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
          <input required={!app && form.provider !== "gmailService" && form.provider !== "outlookService"} value={form.clientId} onChange={(e) => set({ clientId: e.target.value })} autoComplete="off" />
        </label>
        <label>
          Client secret
          <input type="password" placeholder={app?.clientSecret ? "unchanged" : ""} value={form.clientSecret} onChange={(e) => set({ clientSecret: e.target.value })} autoComplete="new-password" />
        </label>
      </div>
      <div className="grid">
        <label>
          Redirect URL
          <input type="url" value={form.redirectUrl} placeholder={`${window.location.origin}/oauth`} onChange={(e) => set({ redirectUrl: e.target.value })} />
        </label>
        {form.provider.startsWith("outlook") && (
          <label>
            Authority (tenant)
            <input value={form.authority} placeholder="common" onChange={(e) => set({ authority: e.target.value })} />
          </label>
        )}
      </div>
      {form.provider === "generic" && <GenericFields form={form} set={set} />}
      <label>
        <input type="checkbox" role="switch" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
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

function describeServer(value: unknown): string {
  if (!value || typeof value !== "object") return "—";
  const s = value as { host?: string; port?: number | null; secure?: boolean };
  return `${s.host ?? "?"}:${s.port ?? "default"} (${s.secure === false ? "STARTTLS" : "TLS"})`;
}

export function errorText(error: Schemas["OAuthAppError"] | null | undefined): string | null {
  if (!error) return null;
  if (error.description) return error.description;
  if (error.response === null || error.response === undefined) return error.serverResponseCode ?? "Unknown error";
  return typeof error.response === "string" ? error.response : JSON.stringify(error.response);
}

/** What the app uses in effect (presets filled in), read-only. */
function InEffect({ app }: { app: OAuthApp }) {
  const rows: [string, string][] = [
    ["Scopes", app.scopes?.length ? app.scopes.join(" ") : "—"],
    ["IMAP", describeServer(app.imap)],
    ["SMTP", describeServer(app.smtp)],
    ["Redirect URL", app.redirectUrl ?? "—"],
  ];
  if (app.authorizationUrl) rows.push(["Authorization URL", app.authorizationUrl]);
  if (app.tokenUrl) rows.push(["Token URL", app.tokenUrl]);
  if (app.userInfoUrl) rows.push(["User info URL", app.userInfoUrl]);
  return (
    <details className="small">
      <summary>Settings in effect</summary>
      <dl>
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>
              <code>{value}</code>
            </dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

const STEP_CLASS: Record<Schemas["VerifyStep"]["status"], string> = { ok: "ok", fail: "bad", skip: "off" };

export function VerifySteps({ name, result }: { name: string; result: VerifyResult }) {
  return (
    <section aria-label={`Verify ${name}`} aria-live="polite">
      <h2>
        Verify {name}: {result.ok ? "all checks passed" : "a check failed"}
      </h2>
      <ol className="checks">
        {result.steps.map((s) => (
          <li key={s.id}>
            <strong>{s.label}</strong> <span className={`badge ${STEP_CLASS[s.status]}`}>{s.status}</span>
            {s.message && <div className={s.status === "fail" ? "bad-text" : ""}>{s.message}</div>}
            {s.hint && <div className="muted small">Hint: {s.hint}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function OAuthApps() {
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<OAuthApp | "new" | null>(null);
  const apps = useQuery({ queryKey: ["oauth2", page], queryFn: () => get<Schemas["OAuthAppList"]>(`/v1/oauth2${qs({ page, pageSize: 20 })}`) });
  const queryClient = useQueryClient();
  const verify = useMutation({ mutationFn: (app: OAuthApp) => api<VerifyResult>("POST", `/v1/oauth2/${enc(app.id)}/verify`, {}) });
  const remove = useMutation({
    mutationFn: (app: OAuthApp) => api<Schemas["OAuthAppDeleted"]>("DELETE", `/v1/oauth2/${enc(app.id)}`),
    onSuccess: () => {
      verify.reset();
      void queryClient.invalidateQueries({ queryKey: ["oauth2"] });
    },
  });
  return (
    <>
      <div className="title-row">
        <h1>OAuth2 apps</h1>
        {apps.isSuccess && editing === null && (
          <button type="button" onClick={() => setEditing("new")}>
            Add app
          </button>
        )}
      </div>
      {editing !== null && (
        <article>
          <AppForm key={editing === "new" ? "new" : editing.id} app={editing === "new" ? null : editing} onDone={() => setEditing(null)} />
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
                    <th scope="col" className="hide-sm">Enabled</th>
                    <th scope="col" className="hide-sm">Accounts</th>
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
                        <div className="muted small">
                          {a.id}
                          {!a.enabled && " · disabled"}
                        </div>
                        {a.lastError && <div className="bad-text small">Last error: {errorText(a.lastError)}</div>}
                        <InEffect app={a} />
                      </td>
                      <td>{a.provider}</td>
                      <td className="hide-sm">{a.enabled ? "yes" : "no"}</td>
                      <td className="hide-sm">{a.accounts ?? "—"}</td>
                      <td className="actions">
                        <button type="button" className="secondary" onClick={() => setEditing(a)}>
                          Edit
                        </button>
                        <button
                          type="button"
                          className="outline"
                          aria-label={`Verify ${a.name}`}
                          aria-busy={(verify.isPending && verify.variables?.id === a.id) || undefined}
                          disabled={verify.isPending}
                          onClick={() => verify.mutate(a)}
                        >
                          Verify
                        </button>
                        <ConfirmButton
                          label="Delete"
                          question={`Delete ${a.name}? Accounts added through it stay, but cannot renew their tokens.`}
                          confirmLabel="Delete app"
                          busy={remove.isPending && remove.variables?.id === a.id}
                          onConfirm={() => remove.mutate(a)}
                        />
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
      {verify.data && verify.variables && (
        <article>
          <VerifySteps name={verify.variables.name} result={verify.data} />
        </article>
      )}
      <ErrorText error={verify.error} />
      <ErrorText error={remove.error} />
    </>
  );
}
