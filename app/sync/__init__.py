"""Keeping the local index in step with each account's IMAP server."""
