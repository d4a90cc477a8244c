"""Alembic migrations for the token store.

Run them with `zohoauth.store.migrate` or `zohoauth db upgrade`.
"""
