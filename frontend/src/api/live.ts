// GraphQL subscriptions over one shared graphql-ws connection: the session cookie goes with the
// handshake and the CSRF token in connection_init, which is what the server checks.
import { createClient, type Client } from "graphql-ws";
import { useEffect, useRef, useState } from "react";
import type { AccountState, ChangeEvent } from "./graphql";
import { getCsrfToken } from "./client";

let client: Client | null = null;
const listeners = new Set<(connected: boolean) => void>();

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss" : "ws"}://${host}/graphql`;
}

export function liveClient(): Client {
  if (!client) {
    client = createClient({
      url: wsUrl(),
      lazy: true,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      connectionParams: () => ({ csrfToken: getCsrfToken() }),
      on: {
        connected: () => listeners.forEach((l) => l(true)),
        closed: () => listeners.forEach((l) => l(false)),
      },
    });
  }
  return client;
}

export function closeLive(): void {
  client?.dispose();
  client = null;
}

/** Whether the live connection is up (shown in the header). */
export function useLiveStatus(): boolean {
  const [up, setUp] = useState(false);
  useEffect(() => {
    listeners.add(setUp);
    return () => {
      listeners.delete(setUp);
    };
  }, []);
  return up;
}

export function useSubscription<T>(
  query: string,
  variables: Record<string, unknown> | null,
  onData: (data: T) => void,
): void {
  const handler = useRef(onData);
  handler.current = onData;
  const key = JSON.stringify(variables);
  useEffect(() => {
    if (variables === null) return;
    const dispose = liveClient().subscribe<T>(
      { query, variables },
      {
        next: (message) => {
          if (message.data) handler.current(message.data as T);
        },
        error: () => undefined, // the client reconnects; nothing to show per subscription
        complete: () => undefined,
      },
    );
    return dispose;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query, key]);
}

const EVENTS = `subscription Events($account: ID, $types: [String!]) {
  events(account: $account, types: $types) { id event account path date data }
}`;

export function useEvents(
  onEvent: (event: ChangeEvent) => void,
  filter: { account?: string; types?: string[] } = {},
): void {
  useSubscription<{ events: ChangeEvent }>(
    EVENTS,
    { account: filter.account ?? null, types: filter.types ?? null },
    (data) => onEvent(data.events),
  );
}

const STATE = `subscription State($account: ID!) {
  accountState(account: $account) { account state lastError syncTime }
}`;

export function useAccountState(account: string | null): AccountState | null {
  const [state, setState] = useState<AccountState | null>(null);
  useSubscription<{ accountState: AccountState }>(
    STATE,
    account ? { account } : null,
    (data) => setState(data.accountState),
  );
  return state;
}
