"""Webhook delivery: fan-out of events into durable deliveries, signing, sending and retrying."""
