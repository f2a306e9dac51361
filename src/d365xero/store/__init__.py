"""The connector's own state: SQLAlchemy models and Alembic migrations, with small helpers.

    db           create_engine(url), session_factory(engine)
    models       User, Connection, SyncRun, XeroWrite (+ ConnectionStatus, RunStatus, WriteState)
    secrets      load_key(settings), SecretBox(key).seal/open, secret_box(settings)
    users        create_user, get_user(_by_email), verify_password, authenticate, set_password
    connections  add/get/list/delete connections, read/update their secrets, pause/resume
    runs         start_run, finish_run, get_run, recent_runs
    locks        take_pass_lock: one pass per connection at a time, across processes
    writes       the write-ahead log of Xero writes: begin_write, mark_applied, mark_failed, ...
    migrate      upgrade(url), downgrade(url, rev), current_revision(url), head_revision()

The caller owns the transaction: helpers flush at most, never commit.
"""
