// The admin sign-in routes (not part of /v1: they exist only for this UI).
import { api } from "./client";

export interface SessionInfo {
  passwordSet: boolean;
  setupAllowed: boolean;
  signedIn: boolean;
  csrfToken: string | null;
  method: "password" | "token" | null;
}

export interface SignedIn {
  signedIn: true;
  csrfToken: string;
}

export const sessionInfo = () => api<SessionInfo>("GET", "/admin/api/session");
export const setup = (password: string) => api<SignedIn>("POST", "/admin/api/setup", { password });
export const signIn = (credentials: { password: string } | { token: string }) =>
  api<SignedIn>("POST", "/admin/api/login", credentials);
export const signOut = () => api<void>("POST", "/admin/api/logout");
export const signOutEverywhere = () => api<void>("POST", "/admin/api/logout-all");
export const changePassword = (password: string) => api<SignedIn>("POST", "/admin/api/password", { password });

export interface TestEventResult {
  success: boolean;
  status: number | null;
  response: string | null;
  error: string | null;
}

/** One signed test POST to the saved webhook URL, answered with how the receiver replied. */
export const sendTestEvent = () => api<TestEventResult>("POST", "/admin/api/webhooks/test");
