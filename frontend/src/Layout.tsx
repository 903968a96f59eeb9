import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router";
import { useEvents, useLiveStatus } from "./api/live";
import { signOut } from "./api/session";
import { ErrorText } from "./components/ui";
import { AccountDetail } from "./pages/AccountDetail";
import { AccountForm } from "./pages/AccountForm";
import { Accounts } from "./pages/Accounts";
import { Dashboard } from "./pages/Dashboard";
import { MessageView } from "./pages/MessageView";
import { OAuthApps } from "./pages/OAuthApps";
import { Outbox } from "./pages/Outbox";
import { SettingsPage } from "./pages/Settings";
import { Tokens } from "./pages/Tokens";
import { Webhooks } from "./pages/Webhooks";

const LINKS = [
  ["/", "Dashboard"],
  ["/accounts", "Accounts"],
  ["/webhooks", "Webhooks"],
  ["/tokens", "Tokens"],
  ["/outbox", "Outbox"],
  ["/oauth2", "OAuth2 apps"],
  ["/settings", "Settings"],
] as const;

/** Every change event marks the lists that it can affect as stale, at most once a second. */
function useLiveInvalidation(): void {
  const queryClient = useQueryClient();
  const pending = useRef<Set<string>>(new Set());
  const timer = useRef<number | null>(null);
  useEvents((event) => {
    const keys = pending.current;
    keys.add("stats");
    keys.add("deliveries");
    if (event.event.startsWith("account") || event.event.startsWith("authentication") || event.event === "connectError") {
      keys.add("accounts");
      keys.add("account");
    }
    if (event.event.startsWith("message") || event.event.startsWith("mailbox")) {
      keys.add("mailboxes");
      keys.add("messages");
      keys.add("account");
      keys.add("outbox");
    }
    if (timer.current === null) {
      timer.current = window.setTimeout(() => {
        timer.current = null;
        const due = [...pending.current];
        pending.current.clear();
        for (const key of due) void queryClient.invalidateQueries({ queryKey: [key] });
      }, 1000);
    }
  });
}

export function Layout({ onSignedOut, method }: { onSignedOut: () => void; method: string | null }) {
  const live = useLiveStatus();
  const [error, setError] = useState<unknown>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  useLiveInvalidation();
  const doSignOut = async () => {
    try {
      await signOut();
      onSignedOut();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="container-fluid topbar">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong className="brand">Mailgate</strong>
            </li>
            <li>
              <span className={`live ${live ? "on" : "off"}`} role="status" title={live ? "Live updates connected" : "Live updates reconnecting"}>
                {live ? "live" : "offline"}
              </span>
            </li>
            <li className="menu-toggle">
              <button type="button" className="outline" aria-expanded={menuOpen} aria-controls="main-links" onClick={() => setMenuOpen(!menuOpen)}>
                Menu
              </button>
            </li>
          </ul>
        </nav>
        <nav aria-label="Sections" id="main-links" className={`links ${menuOpen ? "open" : ""}`}>
          <ul>
            {LINKS.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to} end={to === "/"} onClick={() => setMenuOpen(false)}>
                  {label}
                </NavLink>
              </li>
            ))}
            <li>
              <button type="button" className="outline secondary" onClick={doSignOut} title={method === "token" ? "Signed in with an API token" : "Signed in with the admin password"}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main className="container" id="main" tabIndex={-1}>
        <ErrorText error={error} />
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/accounts" element={<Accounts />} />
          <Route path="/accounts/new" element={<AccountForm />} />
          <Route path="/accounts/:account" element={<AccountDetail />} />
          <Route path="/accounts/:account/edit" element={<AccountForm />} />
          <Route path="/accounts/:account/message/:message" element={<MessageView />} />
          <Route path="/webhooks" element={<Webhooks />} />
          <Route path="/tokens" element={<Tokens />} />
          <Route path="/outbox" element={<Outbox />} />
          <Route path="/oauth2" element={<OAuthApps />} />
          <Route path="/settings" element={<SettingsPage onSignedOut={onSignedOut} />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </>
  );
}
