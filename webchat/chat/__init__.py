"""The `/chat` Socket.IO namespace."""

from .namespace import ChatNamespace

__all__ = ["ChatNamespace"]
