"""The Ozon Seller API client (``OzonClient``) and its shared request rate limiter (``RateLimiter``)."""

from sync.ozon.client import OzonClient
from sync.ozon.limiter import RateLimiter

__all__ = ["OzonClient", "RateLimiter"]
