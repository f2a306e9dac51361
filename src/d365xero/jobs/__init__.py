"""When and how passes run: the store-backed ledger, the clients for a connection, one pass,
and the schedulers that call it."""
