"""Registries kept in the workspace data directory (SQLite): document numbers and the
register of notices (appendix F / K) with their receipts."""
