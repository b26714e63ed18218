"""Reusable constructs. Each module holds one construct; import them from here."""
