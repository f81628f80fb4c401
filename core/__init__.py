"""Shared domain code of EROS: settings, storage, activity tracking, accounts."""

__version__ = "0.1.0"
