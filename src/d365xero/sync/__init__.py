"""The sync engine: one pass per connection."""
