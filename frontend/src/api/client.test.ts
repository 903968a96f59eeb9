import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, qs, setCsrfToken, setSignedOutHandler } from "./client";
import { scriptFetch } from "../test/fetch";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
  setSignedOutHandler(null);
});

describe("api", () => {
  it("sends the CSRF token on writes only", async () => {
    const calls = scriptFetch({ "GET /v1/stats": { status: 200, body: {} }, "POST /v1/settings": { status: 200, body: { updated: [] } } });
    setCsrfToken("tok-1");
    await api("GET", "/v1/stats");
    await api("POST", "/v1/settings", { webhooksEnabled: true });
    expect(calls[0].headers["X-CSRF-Token"]).toBeUndefined();
    expect(calls[1].headers["X-CSRF-Token"]).toBe("tok-1");
    expect(calls[1].body).toEqual({ webhooksEnabled: true });
  });

  it("turns the API's error body into an ApiError with its text and details", async () => {
    scriptFetch({
      "POST /v1/account": {
        status: 400,
        body: { error: "Request body is invalid", code: "InvalidRequest", statusCode: 400, details: { "imap.port": "must be at most 65535" } },
      },
    });
    const error = await api("POST", "/v1/account", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe("Request body is invalid");
    expect((error as ApiError).details).toEqual({ "imap.port": "must be at most 65535" });
    expect((error as ApiError).routeMissing).toBe(false);
  });

  it("tells a missing route from a missing record", async () => {
    scriptFetch({ "GET /v1/account/x": { status: 404, body: { error: "Account record was not found for requested ID", code: "AccountNotFound", statusCode: 404 } } });
    const route = (await api("GET", "/v1/oauth2").catch((e: unknown) => e)) as ApiError;
    const record = (await api("GET", "/v1/account/x").catch((e: unknown) => e)) as ApiError;
    expect(route.routeMissing).toBe(true);
    expect(record.routeMissing).toBe(false);
  });

  it("reports an ended session so the app can show the sign-in screen", async () => {
    scriptFetch({ "GET /v1/stats": { status: 401, body: { error: "The admin session has ended: sign in again", code: "SessionExpired", statusCode: 401 } } });
    const signedOut = vi.fn();
    setSignedOutHandler(signedOut);
    await expect(api("GET", "/v1/stats")).rejects.toThrow("The admin session has ended");
    expect(signedOut).toHaveBeenCalledOnce();
  });

  it("does not treat a wrong password as an ended session", async () => {
    scriptFetch({ "POST /admin/api/login": { status: 401, body: { error: "Wrong password", code: "WrongPassword", statusCode: 401 } } });
    const signedOut = vi.fn();
    setSignedOutHandler(signedOut);
    await expect(api("POST", "/admin/api/login", { password: "x" })).rejects.toThrow("Wrong password");
    expect(signedOut).not.toHaveBeenCalled();
  });
});

describe("qs", () => {
  it("keeps only defined, non-empty values", () => {
    expect(qs({ page: 0, query: "", state: null, pageSize: 20, x: undefined })).toBe("?page=0&pageSize=20");
    expect(qs({})).toBe("");
  });
});
