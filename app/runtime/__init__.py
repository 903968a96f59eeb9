"""What every background loop shares: the loop itself, claims with expiry, and retry backoff."""
