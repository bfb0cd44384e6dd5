"""ASGI entry point (uvicorn ``sopgov.asgi:application``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopgov.settings.local")
application = get_asgi_application()
