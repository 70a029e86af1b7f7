"""Schemas only the API uses: the list envelope, the internal (Asterisk-side) API, the audit
trail and the clients a seller may link. The input schemas the API shares with the pages and
the CLI live in app.schemas."""
