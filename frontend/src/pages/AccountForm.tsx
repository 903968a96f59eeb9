// Add or edit an account: IMAP/SMTP with provider presets and "test connection", or OAuth2
// (AccountOAuth.tsx).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, enc, get, type Schemas } from "../api/client";
import { ErrorText } from "../components/ui";
import { OAuthAccount, OAuthAccountEdit } from "./AccountOAuth";
import { PRESETS } from "./presets";

export interface Server {
  host: string;
  port: string;
  secure: boolean;
  user: string;
  pass: string;
  /** The password as GET returns it (masked); sent back unchanged, it keeps the stored one. */
  storedPass?: string;
}

const emptyServer = (port: number, secure: boolean): Server => ({ host: "", port: String(port), secure, user: "", pass: "" });

export function serverInput(s: Server, editing: boolean) {
  const auth: Record<string, string> = { user: s.user };
  if (s.pass || !editing) auth.pass = s.pass;
  else if (s.storedPass) auth.pass = s.storedPass;
  return { host: s.host.trim(), port: Number(s.port), secure: s.secure, auth, ...(editing ? { partial: true } : {}) };
}

function ServerFields({ legend, value, onChange, passwordOptional }: { legend: string; value: Server; onChange: (s: Server) => void; passwordOptional: boolean }) {
  const set = (patch: Partial<Server>) => onChange({ ...value, ...patch });
  const id = legend.toLowerCase();
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div className="grid">
        <label>
          Host
          <input name={`${id}-host`} required value={value.host} onChange={(e) => set({ host: e.target.value })} autoComplete="off" />
        </label>
        <label>
          Port
          <input name={`${id}-port`} type="number" min={1} max={65535} required value={value.port} onChange={(e) => set({ port: e.target.value })} />
        </label>
      </div>
      <label>
        <input type="checkbox" role="switch" checked={value.secure} onChange={(e) => set({ secure: e.target.checked })} />
        TLS from the start (off: STARTTLS when offered)
      </label>
      <div className="grid">
        <label>
          User name
          <input name={`${id}-user`} required value={value.user} onChange={(e) => set({ user: e.target.value })} autoComplete="off" />
        </label>
        <label>
          Password
          <input
            name={`${id}-pass`}
            type="password"
            required={!passwordOptional}
            value={value.pass}
            onChange={(e) => set({ pass: e.target.value })}
            autoComplete="new-password"
            placeholder={passwordOptional ? "unchanged" : ""}
          />
        </label>
      </div>
    </fieldset>
  );
}

function CheckLine({ label, result }: { label: string; result: Schemas["CheckResult"] | null | undefined }) {
  if (!result) return null;
  return (
    <li className={result.success ? "ok-text" : "bad-text"}>
      {label}: {result.success ? "works" : `failed — ${result.error ?? "unknown error"}${result.code ? ` (${result.code})` : ""}`}
    </li>
  );
}

export function AccountForm() {
  const { account: editId } = useParams();
  const editing = editId !== undefined;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<"imap" | "oauth2">("imap");
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [imap, setImap] = useState<Server>(emptyServer(993, true));
  const [smtp, setSmtp] = useState<Server>(emptyServer(465, true));
  const [sameLogin, setSameLogin] = useState(true);
  const [withSmtp, setWithSmtp] = useState(true);

  const existing = useQuery({
    queryKey: ["account", editId],
    enabled: editing,
    queryFn: () => get<Schemas["AccountInfo"]>(`/v1/account/${enc(editId!)}`),
  });
  useEffect(() => {
    const a = existing.data;
    if (!a) return;
    setName(a.name);
    setEmail(a.email ?? "");
    const load = (cfg: unknown, fallback: Server): Server => {
      if (!cfg || typeof cfg !== "object") return fallback;
      const c = cfg as { host?: string; port?: number; secure?: boolean; auth?: { user?: string; pass?: string } };
      return {
        host: c.host ?? "",
        port: String(c.port ?? fallback.port),
        secure: !!c.secure,
        user: c.auth?.user ?? "",
        pass: "",
        storedPass: c.auth?.pass,
      };
    };
    setImap(load(a.imap, emptyServer(993, true)));
    setSmtp(load(a.smtp, emptyServer(465, true)));
    setWithSmtp(!!a.smtp);
    setSameLogin(false);
  }, [existing.data]);

  const smtpValue = sameLogin ? { ...smtp, user: imap.user, pass: imap.pass } : smtp;
  const verify = useMutation({
    mutationFn: () =>
      api<Schemas["VerifyResult"]>("POST", "/v1/verifyAccount", {
        imap: serverInput(imap, false),
        smtp: withSmtp ? serverInput(smtpValue, false) : undefined,
        mailboxes: false,
      }),
  });
  const save = useMutation({
    mutationFn: async () => {
      const body: Record<string, unknown> = {
        name: name.trim(),
        email: email.trim() || undefined,
        imap: serverInput(imap, editing),
        smtp: withSmtp ? serverInput(smtpValue, editing) : false,
      };
      if (editing) {
        await api("PUT", `/v1/account/${enc(editId!)}`, body);
        return editId!;
      }
      const result = await api<Schemas["RegisterResult"]>("POST", "/v1/account", { account: id.trim() || null, ...body });
      if (!result.account) throw new Error("The server did not say which account it registered");
      return result.account;
    },
    onSuccess: (account) => {
      void queryClient.invalidateQueries({ queryKey: ["accounts"] });
      void queryClient.invalidateQueries({ queryKey: ["account", account] });
      navigate(`/accounts/${enc(account)}`);
    },
  });

  const applyPreset = (key: string) => {
    const p = PRESETS[key];
    if (!p) return;
    setImap({ ...imap, host: p.imap.host, port: String(p.imap.port), secure: p.imap.secure });
    setSmtp({ ...smtp, host: p.smtp.host, port: String(p.smtp.port), secure: p.smtp.secure });
    if (email && !imap.user) setImap((s) => ({ ...s, user: email }));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };

  if (editing && existing.isPending) return <p aria-busy="true">Loading…</p>;
  if (editing && existing.isError) return <ErrorText error={existing.error} />;

  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <Link to="/accounts">Accounts</Link>
          </li>
          {editing && (
            <li>
              <Link to={`/accounts/${enc(editId!)}`}>{editId}</Link>
            </li>
          )}
        </ul>
      </nav>
      <h1>{editing ? `Edit ${editId}` : "Add an account"}</h1>
      {!editing && (
        <fieldset role="group" aria-label="How the account signs in">
          <button type="button" className={kind === "imap" ? "" : "outline"} aria-pressed={kind === "imap"} onClick={() => setKind("imap")}>
            IMAP and SMTP
          </button>
          <button type="button" className={kind === "oauth2" ? "" : "outline"} aria-pressed={kind === "oauth2"} onClick={() => setKind("oauth2")}>
            OAuth2
          </button>
        </fieldset>
      )}
      {editing && existing.data?.type === "oauth2" ? (
        <OAuthAccountEdit account={existing.data} />
      ) : kind === "oauth2" && !editing ? (
        <OAuthAccount />
      ) : (
        <form onSubmit={submit}>
          <div className="grid">
            {!editing && (
              <label>
                Account id
                <input name="account" value={id} onChange={(e) => setId(e.target.value)} placeholder="generated when empty" pattern="[A-Za-z0-9._\-]+" />
              </label>
            )}
            <label>
              Display name
              <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              Email address
              <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
          </div>
          <label>
            Provider preset
            <select aria-label="Provider preset" defaultValue="" onChange={(e) => applyPreset(e.target.value)}>
              <option value="">Custom server</option>
              {Object.entries(PRESETS).map(([key, p]) => (
                <option key={key} value={key}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          <ServerFields legend="IMAP" value={imap} onChange={setImap} passwordOptional={editing} />
          <label>
            <input type="checkbox" role="switch" checked={withSmtp} onChange={(e) => setWithSmtp(e.target.checked)} />
            Send mail through SMTP
          </label>
          {withSmtp && (
            <>
              <label>
                <input type="checkbox" checked={sameLogin} onChange={(e) => setSameLogin(e.target.checked)} />
                SMTP uses the IMAP user name and password
              </label>
              <ServerFields
                legend="SMTP"
                value={smtpValue}
                onChange={(s) => setSmtp(s)}
                passwordOptional={editing || sameLogin}
              />
            </>
          )}
          <div className="actions">
            <button
              type="button"
              className="secondary"
              aria-busy={verify.isPending || undefined}
              disabled={verify.isPending || (editing && !imap.pass)}
              aria-describedby={editing ? "test-hint" : undefined}
              onClick={() => verify.mutate()}
            >
              {verify.isPending ? "Testing…" : "Test connection"}
            </button>
            <button type="submit" aria-busy={save.isPending || undefined} disabled={save.isPending}>
              {editing ? "Save changes" : "Add account"}
            </button>
          </div>
          {editing && !imap.pass && (
            <p id="test-hint" className="muted small">
              Enter the passwords to test the connection; saving without them keeps the stored ones.
            </p>
          )}
          {verify.data && (
            <ul aria-live="polite" className="checks">
              <CheckLine label="IMAP" result={verify.data.imap} />
              <CheckLine label="SMTP" result={verify.data.smtp} />
            </ul>
          )}
          <ErrorText error={verify.error} />
          <ErrorText error={save.error} />
        </form>
      )}
    </>
  );
}
