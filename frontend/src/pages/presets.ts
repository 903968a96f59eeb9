// Well-known providers' IMAP and SMTP servers, to fill the form in one click.
export interface Preset {
  label: string;
  imap: { host: string; port: number; secure: boolean };
  smtp: { host: string; port: number; secure: boolean };
}

export const PRESETS: Record<string, Preset> = {
  gmail: { label: "Gmail", imap: { host: "imap.gmail.com", port: 993, secure: true }, smtp: { host: "smtp.gmail.com", port: 465, secure: true } },
  outlook: {
    label: "Outlook / Microsoft 365",
    imap: { host: "outlook.office365.com", port: 993, secure: true },
    smtp: { host: "smtp.office365.com", port: 587, secure: false },
  },
  yahoo: { label: "Yahoo", imap: { host: "imap.mail.yahoo.com", port: 993, secure: true }, smtp: { host: "smtp.mail.yahoo.com", port: 465, secure: true } },
  icloud: { label: "iCloud", imap: { host: "imap.mail.me.com", port: 993, secure: true }, smtp: { host: "smtp.mail.me.com", port: 587, secure: false } },
  fastmail: { label: "Fastmail", imap: { host: "imap.fastmail.com", port: 993, secure: true }, smtp: { host: "smtp.fastmail.com", port: 465, secure: true } },
};
