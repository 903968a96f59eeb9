// Webhook target, filter, headers and signing secret; and the delivery log with redelivery.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { api, get, qs, type Ok, type Schemas } from "../api/client";
import { sendTestEvent } from "../api/session";
import { Badge, CopyButton, ErrorText, Pager, QueryView, Time } from "../components/ui";

type Settings = Ok<"/v1/settings", "get">;
type Header = { key: string; value: string };

export function randomSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function WebhookForm({ settings }: { settings: Settings }) {
  const queryClient = useQueryClient();
  const [enabled, setEnabled] = useState(settings.webhooksEnabled ?? false);
  const [url, setUrl] = useState(settings.webhooks ?? "");
  const allTypes = (settings.eventTypes as string[] | undefined) ?? [];
  const initialEvents = settings.webhookEvents === undefined || settings.webhookEvents === "*" || (Array.isArray(settings.webhookEvents) && settings.webhookEvents.includes("*"));
  const [all, setAll] = useState(initialEvents);
  const [events, setEvents] = useState<string[]>(Array.isArray(settings.webhookEvents) ? settings.webhookEvents.filter((e) => e !== "*") : []);
  const [headers, setHeaders] = useState<Header[]>((settings.webhooksCustomHeaders as Header[]) ?? []);
  const [secret, setSecret] = useState("");
  const [shownSecret, setShownSecret] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Schemas["SettingsUpdated"]>("POST", "/v1/settings", body),
    onSuccess: () => {
      setSaved(true);
      void queryClient.invalidateQueries({ queryKey: ["settings"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const body: Record<string, unknown> = {
      webhooksEnabled: enabled,
      webhookEvents: all ? "*" : events,
      webhooksCustomHeaders: headers.filter((h) => h.key.trim()).map((h) => ({ key: h.key.trim(), value: h.value })),
    };
    if (url.trim()) body.webhooks = url.trim();
    if (secret) body.serviceSecret = secret;
    save.mutate(body, { onSuccess: () => setSecret("") });
  };
  const regenerate = () => {
    const value = randomSecret();
    setSaved(false);
    save.mutate({ serviceSecret: value }, { onSuccess: () => setShownSecret(value) });
  };
  return (
    <form onSubmit={submit} aria-label="Webhook settings">
      <label>
        <input type="checkbox" role="switch" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Send webhooks
      </label>
      <label>
        Webhook URL
        <input name="webhooks" type="url" value={url} required={enabled} placeholder="https://example.com/mailgate" onChange={(e) => setUrl(e.target.value)} />
      </label>
      {(settings.disabledWebhooks ?? []).includes(url) && (
        <p className="bad-text">This URL answered 410 Gone and is disabled; saving it again re-enables it.</p>
      )}
      <fieldset>
        <legend>Events</legend>
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
          All events
        </label>
        {!all && (
          <div className="checks-grid">
            {allTypes.map((t) => (
              <label key={t}>
                <input
                  type="checkbox"
                  checked={events.includes(t)}
                  onChange={(e) => setEvents(e.target.checked ? [...events, t] : events.filter((x) => x !== t))}
                />
                {t}
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Custom headers</legend>
        {headers.map((h, i) => (
          <div className="grid header-row" key={i}>
            <input aria-label={`Header ${i + 1} name`} placeholder="Name" value={h.key} onChange={(e) => setHeaders(headers.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))} />
            <input aria-label={`Header ${i + 1} value`} placeholder="Value" value={h.value} onChange={(e) => setHeaders(headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
            <button type="button" className="secondary" onClick={() => setHeaders(headers.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="outline" onClick={() => setHeaders([...headers, { key: "", value: "" }])}>
          Add header
        </button>
      </fieldset>
      <fieldset>
        <legend>Signing secret</legend>
        <p className="small">
          {settings.serviceSecret ? "A secret is set." : "No secret is set: payloads are not signed."} It is never shown again after it is saved.
        </p>
        <div className="grid">
          <label>
            New secret
            <input type="password" autoComplete="new-password" value={secret} onChange={(e) => setSecret(e.target.value)} />
          </label>
          <div className="align-end">
            <button type="button" className="secondary" onClick={regenerate} disabled={save.isPending}>
              Generate a new secret
            </button>
          </div>
        </div>
        {shownSecret && (
          <div className="once" role="status">
            <p>The new secret, shown once: configure your receiver with it now.</p>
            <code className="secret">{shownSecret}</code> <CopyButton text={shownSecret} />
          </div>
        )}
      </fieldset>
      <div className="actions">
        <button type="submit" aria-busy={save.isPending || undefined} disabled={save.isPending}>
          Save webhook settings
        </button>
        <TestEvent />
      </div>
      {saved && <p role="status">Saved.</p>}
      <ErrorText error={save.error} />
    </form>
  );
}

/** Sends a signed test event to the saved URL and shows the receiver's answer. */
function TestEvent() {
  const test = useMutation({ mutationFn: sendTestEvent });
  const result = test.data;
  return (
    <>
      <button type="button" className="secondary" aria-busy={test.isPending || undefined} disabled={test.isPending} onClick={() => test.mutate()}>
        Send a test event
      </button>
      {result && (
        <p role="status" className={result.success ? "ok-text" : "bad-text"}>
          {result.success ? "The receiver accepted the test event" : "The test event failed"}
          {result.status !== null ? ` (HTTP ${result.status})` : ""}
          {result.error ? `: ${result.error}` : "."}
        </p>
      )}
      <ErrorText error={test.error} />
    </>
  );
}

function Deliveries() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") || "";
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [status]);
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: ["deliveries", status, page],
    queryFn: () => get<Schemas["DeliveryList"]>(`/v1/webhooks/deliveries${qs({ status, page, pageSize: 20 })}`),
    refetchInterval: 5_000,
    placeholderData: (previous) => previous,
  });
  const redeliver = useMutation({
    mutationFn: (id: number) => api<Schemas["Delivery"]>("POST", `/v1/webhooks/deliveries/${id}/redeliver`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["deliveries"] }),
  });
  return (
    <section>
      <div className="title-row">
        <h2>Delivery log</h2>
        <select aria-label="Filter deliveries by status" value={status} onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}>
          <option value="">Any status</option>
          <option value="pending">Pending</option>
          <option value="delivered">Delivered</option>
          <option value="failed">Failed</option>
          <option value="disabled">Disabled</option>
        </select>
      </div>
      <ErrorText error={redeliver.error} />
      <QueryView query={list} what="The delivery log" isEmpty={(d) => d.deliveries.length === 0} empty="No deliveries yet.">
        {(d) => (
          <>
            <div className="table">
              <table aria-label="Webhook deliveries">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Status</th>
                    <th scope="col">Response</th>
                    <th scope="col" className="hide-sm">Created</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.deliveries.map((x) => (
                    <tr key={x.id}>
                      <td>
                        <code>{x.event}</code>
                        <div className="muted small">{x.account ?? ""}</div>
                      </td>
                      <td>
                        <Badge value={x.status} />
                        <div className="muted small">
                          {x.attempts}/{x.maxAttempts} attempts
                        </div>
                      </td>
                      <td className="small">
                        {x.lastStatus ?? ""} {x.lastError ?? ""}
                        {x.lastResponse && (
                          <details>
                            <summary>Body</summary>
                            <pre>{x.lastResponse}</pre>
                          </details>
                        )}
                      </td>
                      <td className="small hide-sm">
                        <Time value={x.created} />
                      </td>
                      <td>
                        <button
                          type="button"
                          className="outline"
                          aria-busy={(redeliver.isPending && redeliver.variables === x.id) || undefined}
                          disabled={redeliver.isPending}
                          onClick={() => redeliver.mutate(x.id)}
                        >
                          Redeliver
                        </button>
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
    </section>
  );
}

export function Webhooks() {
  const settings = useQuery({ queryKey: ["settings"], queryFn: () => get<Settings>("/v1/settings") });
  return (
    <>
      <h1>Webhooks</h1>
      <QueryView query={settings} what="Webhook settings">
        {(s) => <WebhookForm settings={s} />}
      </QueryView>
      <Deliveries />
    </>
  );
}
