// REST calls to Mailgate: the session cookie authenticates, the CSRF token goes with every write,
// and every failure becomes an ApiError carrying the API's own message and field details.
import type { components, paths } from "./rest";

export type Schemas = components["schemas"];

/** The JSON a route answers with 200, named by path and method (immune to schema renames). */
export type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(status: number, message: string, code: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** A route this server does not have (as opposed to a missing account or message). */
  get routeMissing(): boolean {
    return this.status === 404 && this.code === "NotFound" && this.message === "Route not found";
  }
}

let csrfToken: string | null = null;
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** Called when the server says the session is gone, so the app can show the sign-in screen. */
export function setSignedOutHandler(handler: (() => void) | null): void {
  onSignedOut = handler;
}

async function toError(response: Response): Promise<ApiError> {
  let body: { error?: string; code?: string; details?: Record<string, unknown> } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(
    response.status,
    body.error || `${response.status} ${response.statusText || "error"}`,
    body.code || "HttpError",
    body.details,
  );
}

export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Mailgate did not answer: is the server running?", "NetworkError");
  }
  if (!response.ok) {
    const error = await toError(response);
    if (response.status === 401 && !path.startsWith("/admin/api/login") && onSignedOut) onSignedOut();
    throw error;
  }
  return response;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(method, path, body);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function apiText(path: string): Promise<string> {
  return (await request("GET", path)).text();
}

export const get = <T>(path: string) => api<T>("GET", path);

/** A query string from the defined values only. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;
