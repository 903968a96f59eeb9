// The instance settings not covered by the webhooks page, and the admin password and sessions.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, get, setCsrfToken, type Ok, type Schemas } from "../api/client";
import { changePassword, signOutEverywhere } from "../api/session";
import { ConfirmButton, ErrorText, QueryView } from "../components/ui";

type Kind = "bool" | "int" | "text" | "list" | "select";
export interface Field {
  key: string;
  label: string;
  kind: Kind;
  help?: string;
  options?: string[];
  min?: number;
}

export const FIELDS: Field[] = [
  { key: "serviceUrl", label: "Public URL of this instance", kind: "text", help: "Sent in webhook payloads." },
  { key: "deliveryAttempts", label: "Delivery attempts for sent mail", kind: "int", min: 1 },
  { key: "notifyText", label: "Include message text in messageNew", kind: "bool" },
  { key: "notifyTextSize", label: "Maximum text size in webhooks (bytes, 0 = all)", kind: "int", min: 0 },
  { key: "notifyWebSafeHtml", label: "Sanitise HTML in webhooks", kind: "bool" },
  { key: "notifyHeaders", label: "Headers included in webhooks", kind: "list", help: "Comma-separated header names." },
  { key: "notifyAttachments", label: "Include attachments in webhooks", kind: "bool" },
  { key: "notifyAttachmentSize", label: "Maximum attachment size in webhooks (bytes)", kind: "int", min: 0 },
  { key: "notifyCalendarEvents", label: "Include calendar events in webhooks", kind: "bool" },
  { key: "inboxNewOnly", label: "messageNew only for the inbox", kind: "bool" },
  { key: "ignoreMailCertErrors", label: "Accept invalid TLS certificates of mail servers", kind: "bool" },
  { key: "smtpEhloName", label: "SMTP EHLO name", kind: "text" },
  { key: "queueKeep", label: "Finished outbox entries to keep", kind: "int", min: 0 },
  { key: "locale", label: "Locale", kind: "select", options: ["", "en", "et", "fr", "de", "pl", "ja", "nl"] },
  { key: "timezone", label: "Time zone", kind: "text" },
  { key: "pageBrandName", label: "Brand name", kind: "text" },
];

type Values = Record<string, unknown>;

/** The keys whose value changed, in the API's types ("" clears nothing: it is left out). */
export function changedValues(fields: Field[], before: Values, after: Values): Values {
  const out: Values = {};
  for (const f of fields) {
    const a = after[f.key];
    if (JSON.stringify(a) === JSON.stringify(before[f.key] ?? (f.kind === "bool" ? false : f.kind === "list" ? [] : null))) continue;
    if ((a === "" || a === null) && f.kind !== "bool") continue;
    out[f.key] = a;
  }
  return out;
}

function InstanceSettings({ settings }: { settings: Ok<"/v1/settings", "get"> }) {
  const queryClient = useQueryClient();
  const initial = settings as unknown as Values;
  const [values, setValues] = useState<Values>(() => ({ ...initial }));
  const save = useMutation({
    mutationFn: (body: Values) => api<Schemas["SettingsUpdated"]>("POST", "/v1/settings", body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["settings"] }),
  });
  const changes = changedValues(FIELDS, initial, values);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(changes);
  };
  const set = (key: string, value: unknown) => setValues({ ...values, [key]: value });
  return (
    <form onSubmit={submit} aria-label="Instance settings">
      {FIELDS.map((f) => {
        const v = values[f.key];
        if (f.kind === "bool")
          return (
            <label key={f.key}>
              <input type="checkbox" role="switch" checked={!!v} onChange={(e) => set(f.key, e.target.checked)} />
              {f.label}
            </label>
          );
        const hint = f.help ? `${f.key}-hint` : undefined;
        return (
          <div key={f.key}>
          <label>
            {f.label}
            {f.kind === "select" ? (
              <select aria-describedby={hint} value={String(v ?? "")} onChange={(e) => set(f.key, e.target.value || null)}>
                {f.options!.map((o) => (
                  <option key={o} value={o}>
                    {o || "(default)"}
                  </option>
                ))}
              </select>
            ) : (
              <input
                name={f.key}
                aria-describedby={hint}
                type={f.kind === "int" ? "number" : "text"}
                min={f.min}
                value={f.kind === "list" ? ((v as string[] | null) ?? []).join(", ") : String(v ?? "")}
                onChange={(e) => {
                  const raw = e.target.value;
                  if (f.kind === "int") set(f.key, raw === "" ? null : Number(raw));
                  else if (f.kind === "list") set(f.key, raw.split(",").map((s) => s.trim()).filter(Boolean));
                  else set(f.key, raw);
                }}
              />
            )}
          </label>
          {f.help && <small id={hint}>{f.help}</small>}
          </div>
        );
      })}
      <button type="submit" disabled={save.isPending || Object.keys(changes).length === 0} aria-busy={save.isPending || undefined}>
        Save settings
      </button>
      {save.isSuccess && <p role="status">Saved: {save.data.updated.join(", ") || "nothing changed"}.</p>}
      <ErrorText error={save.error} />
    </form>
  );
}

function AdminAccess({ onSignedOut }: { onSignedOut: () => void }) {
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [message, setMessage] = useState("");
  const change = useMutation({
    mutationFn: () => {
      if (password !== repeat) throw new Error("The two passwords differ");
      return changePassword(password);
    },
    onSuccess: (result) => {
      setCsrfToken(result.csrfToken);
      setPassword("");
      setRepeat("");
      setMessage("Password changed. Every other session has been signed out.");
    },
  });
  const everywhere = useMutation({ mutationFn: signOutEverywhere, onSuccess: onSignedOut });
  return (
    <article>
      <h2>Admin access</h2>
      <form
        aria-label="Change the admin password"
        onSubmit={(e) => {
          e.preventDefault();
          setMessage("");
          change.mutate();
        }}
      >
        <div className="grid">
          <label>
            New admin password
            <input type="password" autoComplete="new-password" minLength={10} required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label>
            Repeat it
            <input type="password" autoComplete="new-password" minLength={10} required value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          </label>
        </div>
        <button type="submit" aria-busy={change.isPending || undefined} disabled={change.isPending}>
          Change password
        </button>
        {message && <p role="status">{message}</p>}
        <ErrorText error={change.error} />
      </form>
      <hr />
      <ConfirmButton
        label="Sign out everywhere"
        question="Sign out every admin session, in every browser, including this one?"
        busy={everywhere.isPending}
        onConfirm={() => everywhere.mutate()}
      />
      <ErrorText error={everywhere.error} />
    </article>
  );
}

export function SettingsPage({ onSignedOut }: { onSignedOut: () => void }) {
  const settings = useQuery({ queryKey: ["settings"], queryFn: () => get<Ok<"/v1/settings", "get">>("/v1/settings") });
  return (
    <>
      <h1>Settings</h1>
      <AdminAccess onSignedOut={onSignedOut} />
      <article>
        <h2>Instance</h2>
        <QueryView query={settings} what="Settings">
          {(s) => <InstanceSettings settings={s} />}
        </QueryView>
      </article>
    </>
  );
}
