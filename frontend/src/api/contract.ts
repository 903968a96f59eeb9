// Types for routes this server may not have yet, written from the EmailEngine-compatible contract
// (the OAuth2 apps routes and the protocol log). The UI shows "not available" when they answer 404.
export interface OAuthApp {
  id: string;
  name: string;
  description?: string;
  title?: string;
  provider: "gmail" | "gmailService" | "outlook" | "outlookService" | "mailRu";
  enabled?: boolean;
  created?: string;
  updated?: string;
  clientId?: string;
  authority?: string;
  redirectUrl?: string;
  baseScopes?: "imap" | "api" | "pubsub";
  extraScopes?: string[];
  accounts?: number;
  lastError?: { response?: string; description?: string } | null;
}

export interface OAuthAppList {
  total: number;
  page: number;
  pages: number;
  apps: OAuthApp[];
}

export interface OAuthAppInput {
  name: string;
  description?: string;
  provider?: OAuthApp["provider"];
  enabled?: boolean;
  clientId?: string;
  clientSecret?: string;
  authority?: string;
  redirectUrl?: string;
  baseScopes?: "imap" | "api" | "pubsub";
}

export interface OAuthVerifyResult {
  app: string;
  provider: string;
  ok: boolean;
  steps: { id: string; label: string; status: "ok" | "fail" | "skip"; message?: string; hint?: string }[];
}
