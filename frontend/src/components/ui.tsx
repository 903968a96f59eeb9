// Small shared pieces: loading/error/empty states, API error text, badges, paging, dialogs.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import { ApiError } from "../api/client";

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof ApiError && error.details ? Object.entries(error.details) : [];
  return (
    <div role="alert" className="error-text">
      <strong>{message}</strong>
      {details.length > 0 && (
        <ul>
          {details.map(([field, text]) => (
            <li key={field}>
              <code>{field}</code>: {typeof text === "string" ? text : JSON.stringify(text)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Unavailable({ what }: { what: string }) {
  return (
    <article className="unavailable" role="status">
      <strong>Not available on this server.</strong> {what} needs an API route this Mailgate version does not
      have yet.
    </article>
  );
}

/** Loading, error (with "not available" for a missing route), empty, or the content. */
export function QueryView<T>({
  query,
  empty,
  isEmpty,
  what,
  children,
}: {
  query: UseQueryResult<T>;
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <p aria-busy="true">Loading…</p>;
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.routeMissing) return <Unavailable what={what ?? "This"} />;
    return (
      <div>
        <ErrorText error={query.error} />
        <button type="button" className="secondary" onClick={() => query.refetch()}>
          Retry
        </button>
      </div>
    );
  }
  if (isEmpty && isEmpty(query.data)) return <p className="empty">{empty ?? "Nothing here yet."}</p>;
  return <>{children(query.data)}</>;
}

const STATE_CLASS: Record<string, string> = {
  connected: "ok",
  syncing: "busy",
  connecting: "busy",
  init: "busy",
  authenticationError: "bad",
  connectError: "bad",
  disconnected: "off",
  unset: "off",
  pending: "busy",
  queued: "busy",
  processing: "busy",
  delivered: "ok",
  sent: "ok",
  "smtp-completed": "ok",
  failed: "bad",
  cancelled: "off",
  disabled: "off",
};

export function Badge({ value }: { value: string | null | undefined }) {
  const text = value ?? "deleted";
  return <span className={`badge ${STATE_CLASS[text] ?? "off"}`}>{text}</span>;
}

export function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (page: number) => void }) {
  if (pages <= 1) return null;
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" className="secondary" disabled={page <= 0} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page + 1} of {pages}
      </span>
      <button type="button" className="secondary" disabled={page + 1 >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

/** A button that asks first, in a modal dialog (focus moves into it; Escape cancels). */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  busy,
  className = "secondary",
}: {
  label: string;
  question: string;
  confirmLabel?: string;
  onConfirm: () => void;
  busy?: boolean;
  className?: string;
}) {
  const [open, setOpen] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const node = dialog.current;
    if (!node) return;
    if (open && !node.open) {
      if (typeof node.showModal === "function") node.showModal();
      else node.setAttribute("open", "");
    }
    if (!open && node.open) {
      if (typeof node.close === "function") node.close();
      else node.removeAttribute("open");
    }
  }, [open]);
  return (
    <>
      <button type="button" className={className} aria-busy={busy || undefined} disabled={busy} onClick={() => setOpen(true)}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setOpen(false)}>
        {open && (
          <article>
            <h2 id={titleId}>{question}</h2>
            <footer>
              <button type="button" className="secondary" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  setOpen(false);
                  onConfirm();
                }}
              >
                {confirmLabel ?? label}
              </button>
            </footer>
          </article>
        )}
      </dialog>
    </>
  );
}

export function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

export function Time({ value }: { value: string | number | null | undefined }) {
  if (value === null || value === undefined || value === "") return <span>—</span>;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{String(value)}</span>;
  return <time dateTime={date.toISOString()}>{date.toLocaleString()}</time>;
}

/** Bars for a short series (e.g. deliveries per minute), with a text summary for screen readers. */
export function BarChart({ values, label }: { values: { label: string; value: number }[]; label: string }) {
  const max = Math.max(1, ...values.map((v) => v.value));
  const width = 300;
  const height = 60;
  const bar = width / Math.max(1, values.length);
  const total = values.reduce((sum, v) => sum + v.value, 0);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${total} in the last ${values.length} minutes`}>
        {values.map((v, i) => {
          const h = (v.value / max) * (height - 4);
          return (
            <rect key={v.label} x={i * bar + 1} y={height - h} width={Math.max(1, bar - 2)} height={h} className="bar">
              <title>
                {v.label}: {v.value}
              </title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        {label}: {total} in the last {values.length} minutes
      </figcaption>
    </figure>
  );
}

export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) return "—";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}
