"""Protocol adapters: IMAP, SMTP and MIME behind small interfaces."""
