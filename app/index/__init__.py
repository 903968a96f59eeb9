"""The local message index: rows written from what the server reported, read back as API entries.

It sits below the services and the sync so that both can use it and neither reaches into the other."""
