"""Sending: the outbox dispatcher and the attempt that talks SMTP."""
