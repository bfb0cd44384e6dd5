"""Embedded defaults for a first run (``make demo``): SQLite, in-process Celery, DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
