import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { get, qs, type Schemas } from "../api/client";
import type { ChangeEvent } from "../api/graphql";
import { useEvents } from "../api/live";
import { Badge, BarChart, QueryView, Time } from "../components/ui";

const MINUTES = 15;

/** Deliveries per minute over the last minutes, oldest first, from their delivery times. */
export function perMinute(deliveries: { deliveredAt?: string | null }[], now: number, minutes = MINUTES) {
  const start = Math.floor(now / 60_000) - minutes + 1;
  const counts = new Array<number>(minutes).fill(0);
  for (const d of deliveries) {
    if (!d.deliveredAt) continue;
    const slot = Math.floor(new Date(d.deliveredAt).getTime() / 60_000) - start;
    if (slot >= 0 && slot < minutes) counts[slot] += 1;
  }
  return counts.map((value, i) => ({
    label: new Date((start + i) * 60_000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    value,
  }));
}

function Counts({ title, values }: { title: string; values: Record<string, unknown> }) {
  const numbers = Object.entries(values).filter(([, v]) => typeof v === "number");
  const entries = numbers.filter(([, v]) => v !== 0);
  return (
    <article>
      <h2>{title}</h2>
      {entries.length === 0 ? (
        <p className="empty">None.</p>
      ) : (
        <dl className="counts">
          {entries.map(([k, v]) => (
            <div key={k}>
              <dt>
                <Badge value={k} />
              </dt>
              <dd>{String(v)}</dd>
            </div>
          ))}
        </dl>
      )}
    </article>
  );
}

export function Dashboard() {
  const stats = useQuery({ queryKey: ["stats"], queryFn: () => get<Schemas["Stats"]>("/v1/stats") });
  const attention = useQuery({
    queryKey: ["accounts", "attention"],
    queryFn: async () => {
      const [auth, connect] = await Promise.all(
        ["authenticationError", "connectError"].map((state) =>
          get<Schemas["AccountList"]>(`/v1/accounts${qs({ state, pageSize: 50 })}`),
        ),
      );
      return [...auth.accounts, ...connect.accounts];
    },
  });
  const deliveries = useQuery({
    queryKey: ["deliveries", "dashboard"],
    refetchInterval: 10_000,
    queryFn: async () => {
      const list = (status: string, pageSize: number) =>
        get<Schemas["DeliveryList"]>(`/v1/webhooks/deliveries${qs({ status, pageSize })}`);
      const [pending, failed, delivered] = await Promise.all([list("pending", 1), list("failed", 1), list("delivered", 100)]);
      return { pending: pending.total, failed: failed.total, delivered: delivered.deliveries };
    },
  });
  const [events, setEvents] = useState<ChangeEvent[]>([]);
  useEvents((event) => setEvents((old) => [event, ...old].slice(0, 30)));

  return (
    <>
      <h1>Dashboard</h1>
      <div className="grid-cards">
        <QueryView query={stats} what="Statistics">
          {(s) => (
            <>
              <Counts title={`Accounts (${s.accounts})`} values={s.connections as Record<string, unknown>} />
              <Counts title="Outbox" values={((s.queues as Record<string, unknown>).outbox ?? {}) as Record<string, unknown>} />
            </>
          )}
        </QueryView>
        <article>
          <h2>Webhook deliveries</h2>
          <QueryView query={deliveries} what="Webhook deliveries">
            {(d) => (
              <>
                <p>
                  <Link to="/webhooks?status=pending">{d.pending} pending</Link> ·{" "}
                  <Link to="/webhooks?status=failed">{d.failed} failing</Link>
                </p>
                <BarChart values={perMinute(d.delivered, Date.now())} label="Delivered per minute" />
              </>
            )}
          </QueryView>
        </article>
      </div>
      <section>
        <h2>Accounts needing attention</h2>
        <QueryView query={attention} isEmpty={(a) => a.length === 0} empty="All accounts are fine." what="Accounts">
          {(accounts) => (
            <div className="table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Account</th>
                    <th scope="col">State</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {accounts.map((a) => (
                    <tr key={a.account}>
                      <td>
                        <Link to={`/accounts/${encodeURIComponent(a.account)}`}>{a.name || a.account}</Link>
                      </td>
                      <td>
                        <Badge value={a.state} />
                      </td>
                      <td>{describeError(a.lastError)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </section>
      <section>
        <h2>Recent events</h2>
        {events.length === 0 ? (
          <p className="empty">Waiting for events… they appear here as they happen.</p>
        ) : (
          <ol className="events" aria-live="polite">
            {events.map((e) => (
              <li key={e.id}>
                <Time value={e.date} /> <code>{e.event}</code> {e.account && <Link to={`/accounts/${encodeURIComponent(e.account)}`}>{e.account}</Link>}{" "}
                {e.path && <span className="muted">{e.path}</span>}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

export function describeError(error: unknown): string {
  if (!error || typeof error !== "object") return "";
  const e = error as Record<string, unknown>;
  return String(e.response ?? e.error ?? e.message ?? e.serverResponseCode ?? JSON.stringify(error));
}
