import { describe, expect, it } from "vitest";
import { perMinute } from "./Dashboard";
import { FIELDS, changedValues } from "./Settings";
import { randomSecret } from "./Webhooks";
import { serverInput } from "./AccountForm";

describe("perMinute", () => {
  it("counts deliveries into the minute they were delivered, oldest first", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const at = (hour: number, min: number, sec = 0) => new Date(Date.UTC(2026, 0, 1, hour, min, sec)).toISOString();
    const deliveries = [
      { deliveredAt: at(12, 0, 5) },
      { deliveredAt: at(12, 0, 10) },
      { deliveredAt: at(11, 58) },
      { deliveredAt: null },
      { deliveredAt: at(11, 30) },
    ];
    expect(perMinute(deliveries, now, 5).map((p) => p.value)).toEqual([0, 0, 1, 0, 2]);
  });

  it("leaves out deliveries older than the window", () => {
    const now = Date.UTC(2026, 0, 1, 12, 10, 0);
    const old = new Date(Date.UTC(2026, 0, 1, 11, 0, 0)).toISOString();
    expect(perMinute([{ deliveredAt: old }], now, 15).every((p) => p.value === 0)).toBe(true);
  });
});

describe("changedValues", () => {
  const before = { notifyText: false, deliveryAttempts: 10, notifyHeaders: [], smtpEhloName: null, locale: null };

  it("sends only what changed", () => {
    const after = { ...before, notifyText: true, deliveryAttempts: 10 };
    expect(changedValues(FIELDS, before, after)).toEqual({ notifyText: true });
  });

  it("does not send emptied text fields (the API has no way to clear them)", () => {
    const after = { ...before, smtpEhloName: "", deliveryAttempts: 3, notifyHeaders: ["x-spam"] };
    expect(changedValues(FIELDS, before, after)).toEqual({ deliveryAttempts: 3, notifyHeaders: ["x-spam"] });
  });
});

describe("randomSecret", () => {
  it("is 64 hex characters and differs each time", () => {
    const a = randomSecret();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(randomSecret()).not.toBe(a);
  });
});

describe("serverInput", () => {
  const server = { host: " imap.example.com ", port: "993", secure: true, user: "u", pass: "" };

  it("sends a new account's password as typed", () => {
    expect(serverInput({ ...server, pass: "pw" }, false)).toEqual({
      host: "imap.example.com",
      port: 993,
      secure: true,
      auth: { user: "u", pass: "pw" },
    });
  });

  it("keeps the stored password when an edit leaves it blank (the masked value goes back)", () => {
    const input = serverInput({ ...server, storedPass: "******" }, true);
    expect(input).toEqual({ host: "imap.example.com", port: 993, secure: true, partial: true, auth: { user: "u", pass: "******" } });
  });

  it("sends a changed password on edit", () => {
    expect(serverInput({ ...server, pass: "new", storedPass: "******" }, true).auth).toEqual({ user: "u", pass: "new" });
  });
});
