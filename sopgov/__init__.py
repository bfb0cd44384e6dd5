"""sopgov: governance of the SOPs customer-service AI agents follow."""

from .celery import app as celery_app

__all__ = ("celery_app",)
