// Decides what the visitor sees: first-run set-up, sign-in, or the app.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { setCsrfToken, setSignedOutHandler } from "./api/client";
import { closeLive } from "./api/live";
import { sessionInfo, setup, signIn, type SignedIn } from "./api/session";
import { ErrorText } from "./components/ui";
import { Layout } from "./Layout";

export function Gate() {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: ["session"], queryFn: sessionInfo, staleTime: Infinity });
  const [csrf, setCsrf] = useState<string | null>(null);

  useEffect(() => {
    if (session.data?.csrfToken) setCsrf(session.data.csrfToken);
  }, [session.data]);
  useEffect(() => {
    setCsrfToken(csrf);
  }, [csrf]);
  useEffect(() => {
    setSignedOutHandler(() => {
      setCsrf(null);
      closeLive();
      queryClient.clear();
      void queryClient.fetchQuery({ queryKey: ["session"], queryFn: sessionInfo });
    });
    return () => setSignedOutHandler(null);
  }, [queryClient]);

  const signedIn = (result: SignedIn) => {
    setCsrfToken(result.csrfToken);
    setCsrf(result.csrfToken);
    queryClient.setQueryData(["session"], { ...session.data, passwordSet: true, signedIn: true, csrfToken: result.csrfToken });
  };
  const signedOut = () => {
    setCsrfToken(null);
    setCsrf(null);
    closeLive();
    queryClient.clear();
    void session.refetch();
  };

  if (session.isPending) return <main className="container" aria-busy="true">Loading…</main>;
  if (session.isError)
    return (
      <main className="container">
        <h1>Mailgate</h1>
        <ErrorText error={session.error} />
        <button type="button" onClick={() => session.refetch()}>
          Retry
        </button>
      </main>
    );
  const info = session.data;
  if (info.signedIn && csrf) return <Layout onSignedOut={signedOut} method={info.method} />;
  if (!info.passwordSet) return <SetupScreen allowed={info.setupAllowed} onDone={signedIn} />;
  return <SignInScreen onDone={signedIn} />;
}

function SetupScreen({ allowed, onDone }: { allowed: boolean; onDone: (r: SignedIn) => void }) {
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== repeat) {
      setError(new Error("The two passwords differ"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onDone(await setup(password));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="container narrow">
      <h1>Set up Mailgate</h1>
      {allowed ? (
        <form onSubmit={submit}>
          <p>Choose the admin password. You will use it to sign in to this page.</p>
          <label htmlFor="setup-password">Admin password</label>
          <input
            id="setup-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            aria-describedby="setup-password-hint"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <small id="setup-password-hint">At least 10 characters.</small>
          <label>
            Repeat the password
            <input type="password" autoComplete="new-password" required minLength={10} value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          </label>
          <ErrorText error={error} />
          <button type="submit" aria-busy={busy || undefined} disabled={busy}>
            Set password and sign in
          </button>
        </form>
      ) : (
        <article>
          <p>No admin password is set yet. For safety, the first password can only be set from the machine Mailgate runs on.</p>
          <p>
            Run <code>mailgate admin password</code> on the server, or open this page through <code>http://127.0.0.1</code>{" "}
            there. You can also sign in with an API token.
          </p>
          <SignInForm onDone={onDone} tokenOnly />
        </article>
      )}
    </main>
  );
}

function SignInScreen({ onDone }: { onDone: (r: SignedIn) => void }) {
  return (
    <main className="container narrow">
      <h1>Sign in to Mailgate</h1>
      <SignInForm onDone={onDone} />
    </main>
  );
}

function SignInForm({ onDone, tokenOnly = false }: { onDone: (r: SignedIn) => void; tokenOnly?: boolean }) {
  const [mode, setMode] = useState<"password" | "token">(tokenOnly ? "token" : "password");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await signIn(mode === "password" ? { password: value } : { token: value.trim() }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit}>
      {!tokenOnly && (
        <fieldset role="group" aria-label="Sign in with">
          <button type="button" className={mode === "password" ? "" : "outline"} aria-pressed={mode === "password"} onClick={() => { setMode("password"); setValue(""); }}>
            Password
          </button>
          <button type="button" className={mode === "token" ? "" : "outline"} aria-pressed={mode === "token"} onClick={() => { setMode("token"); setValue(""); }}>
            API token
          </button>
        </fieldset>
      )}
      <label>
        {mode === "password" ? "Admin password" : "API token (system-wide, with the api scope)"}
        <input
          type="password"
          autoComplete={mode === "password" ? "current-password" : "off"}
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <ErrorText error={error} />
      <button type="submit" aria-busy={busy || undefined} disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
