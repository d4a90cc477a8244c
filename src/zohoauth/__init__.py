"""zohoauth: multi-user, multi-data-center OAuth 2.0 for Zoho CRM."""

__version__ = "0.1.0"

__all__ = ["__version__"]
