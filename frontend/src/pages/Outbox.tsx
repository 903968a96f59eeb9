// Queued and scheduled messages; cancel one.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, enc, get, qs, type Schemas } from "../api/client";
import { Badge, ConfirmButton, ErrorText, Pager, QueryView, Time } from "../components/ui";

const FINAL = ["sent", "smtp-completed", "failed", "cancelled"];
const STATES = ["pending", "queued", "processing", "failed", "sent", "cancelled", "all"];

function stateOf(entry: Schemas["OutboxEntry"]): string {
  const progress = entry.progress as { status?: string } | undefined;
  return progress?.status ?? "queued";
}

export function Outbox() {
  const queryClient = useQueryClient();
  const [state, setState] = useState("pending");
  const [page, setPage] = useState(0);
  const list = useQuery({
    queryKey: ["outbox", state, page],
    queryFn: () => get<Schemas["OutboxList"]>(`/v1/outbox${qs({ state, page, pageSize: 20 })}`),
    refetchInterval: 10_000,
    placeholderData: (previous) => previous,
  });
  const cancel = useMutation({
    mutationFn: (queueId: string) => api<Schemas["OutboxDeleted"]>("DELETE", `/v1/outbox/${enc(queueId)}`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["outbox"] });
      void queryClient.invalidateQueries({ queryKey: ["stats"] });
    },
  });
  return (
    <>
      <div className="title-row">
        <h1>Outbox</h1>
        <select
          aria-label="Filter by state"
          value={state}
          onChange={(e) => {
            setState(e.target.value);
            setPage(0);
          }}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <ErrorText error={cancel.error} />
      <QueryView query={list} what="The outbox" isEmpty={(d) => d.messages.length === 0} empty="No messages in this state.">
        {(d) => (
          <>
            <div className="table">
              <table aria-label="Outbox">
                <thead>
                  <tr>
                    <th scope="col">Subject</th>
                    <th scope="col">Account</th>
                    <th scope="col" className="hide-sm">To</th>
                    <th scope="col">Scheduled</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.messages.map((m) => (
                    <tr key={m.queueId}>
                      <td>{m.subject || "(no subject)"}</td>
                      <td>{m.account}</td>
                      <td className="small hide-sm">{((m.envelope as { to?: string[] }).to ?? []).join(", ")}</td>
                      <td className="small">
                        <Time value={m.scheduled} />
                      </td>
                      <td>
                        <Badge value={stateOf(m)} />
                        <div className="muted small">
                          {m.attemptsMade}/{m.attempts} attempts
                        </div>
                      </td>
                      <td>
                        {FINAL.includes(stateOf(m)) ? null : (
                        <ConfirmButton
                          label="Cancel"
                          question={`Cancel sending "${m.subject || m.queueId}"?`}
                          confirmLabel="Cancel message"
                          busy={cancel.isPending && cancel.variables === m.queueId}
                          onConfirm={() => cancel.mutate(m.queueId)}
                        />
                        )}
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
