// One message, read-only: headers, text (plain, or HTML in a sandboxed frame) and attachments.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { enc, get, type Schemas } from "../api/client";
import { QueryView, Time, formatBytes } from "../components/ui";

type Address = Schemas["AddressOut"];

function addresses(list: Address[] | Address | null | undefined): string {
  const items = Array.isArray(list) ? list : list ? [list] : [];
  return items.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(", ");
}

export function MessageView() {
  const { account = "", message = "" } = useParams();
  const [html, setHtml] = useState(false);
  const base = `/v1/account/${enc(account)}`;
  const details = useQuery({
    queryKey: ["messages", account, "one", message],
    queryFn: () => get<Schemas["MessageDetails"]>(`${base}/message/${enc(message)}?textType=*&webSafeHtml=true`),
  });
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link to="/accounts">Accounts</Link>
          </li>
          <li>
            <Link to={`/accounts/${enc(account)}?tab=messages`}>{account}</Link>
          </li>
        </ul>
      </nav>
      <QueryView query={details} what="Messages">
        {(m) => {
          const text = m.text;
          return (
            <article>
              <h1>{m.subject || "(no subject)"}</h1>
              <dl className="headers">
                  <dt>From</dt>
                  <dd>{addresses(m.from)}</dd>
                  <dt>To</dt>
                  <dd>{addresses(m.to) || "—"}</dd>
                {m.cc.length > 0 && (
                  <>
                    <dt>Cc</dt>
                    <dd>{addresses(m.cc)}</dd>
                  </>
                )}
                  <dt>Date</dt>
                  <dd>
                    <Time value={m.date} />
                  </dd>
                  <dt>Mailbox</dt>
                  <dd>{m.path}</dd>
              </dl>
              {text?.html && (
                <label>
                  <input type="checkbox" role="switch" checked={html} onChange={(e) => setHtml(e.target.checked)} />
                  Show the HTML version
                </label>
              )}
              {html && text?.html ? (
                <iframe title="Message HTML" className="message-html" sandbox="" srcDoc={text.html} />
              ) : (
                <pre className="message-text" tabIndex={0} aria-label="Message text">
                  {text?.plain ?? (text?.html ? "This message has only an HTML version." : "This message has no text.")}
                </pre>
              )}
              {text?.hasMore && <p className="muted">The text is longer than shown.</p>}
              <h2>Attachments</h2>
              {m.attachments.length === 0 ? (
                <p className="empty">No attachments.</p>
              ) : (
                <ul>
                  {m.attachments.map((a) => (
                    <li key={a.id}>
                      <a href={`${base}/attachment/${enc(a.id)}`} download={a.filename ?? a.id}>
                        {a.filename ?? a.id}
                      </a>{" "}
                      <span className="muted small">
                        {a.contentType}, {formatBytes(a.encodedSize)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
              <p>
                <a href={`${base}/message/${enc(m.id)}/source`} download={`${m.id}.eml`}>
                  Download the original (.eml)
                </a>
              </p>
            </article>
          );
        }}
      </QueryView>
    </>
  );
}
