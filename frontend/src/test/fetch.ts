// A scripted fetch for component tests: each route answers with a fixed status and JSON body,
// and every call is recorded so tests can check what the UI sent.
import { vi } from "vitest";

export interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

type Answer = { status: number; body?: unknown } | ((call: Call) => { status: number; body?: unknown });

export function scriptFetch(routes: Record<string, Answer>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const call: Call = {
        method: init.method ?? "GET",
        url,
        headers: (init.headers ?? {}) as Record<string, string>,
        body: init.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(call);
      const key = `${call.method} ${url.split("?")[0]}`;
      const answer = routes[key];
      if (!answer) return new Response(JSON.stringify({ error: "Route not found", code: "NotFound", statusCode: 404 }), { status: 404 });
      const { status, body } = typeof answer === "function" ? answer(call) : answer;
      return new Response(status === 204 ? null : JSON.stringify(body ?? {}), { status, headers: { "Content-Type": "application/json" } });
    }),
  );
  return calls;
}
