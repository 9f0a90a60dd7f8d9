# Rivyaweb: one image for every process (web, db_worker, rivya_poller).
#   docker build -t rivyaweb .
#   docker run --env-file .env -p 8000:8000 -v rivyaweb-var:/app/var -v rivyaweb-media:/app/media rivyaweb
# The default command runs everything in one container; compose.yaml runs each process apart.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1

# uv from PyPI; the dependencies from the hashed lock exported by `make lock`.
# Every dependency ships manylinux wheels (psycopg bundles libpq, av bundles FFmpeg),
# so the image needs no compiler and no system libraries beyond the base.
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv venv "$VIRTUAL_ENV" --python /usr/local/bin/python3.13
WORKDIR /app
COPY requirements.lock ./
RUN uv pip sync --require-hashes requirements.lock

COPY . .
# Static files are collected into the image; the key only lets settings load for this step.
RUN SECRET_KEY=build-time-only-key-never-used-at-run-time-0123456789 \
    python manage.py collectstatic --noinput --verbosity 0 \
    && groupadd --system --gid 10001 rivyaweb \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app rivyaweb \
    && mkdir -p /app/media \
    && chown -R rivyaweb:rivyaweb /app/var /app/media

USER 10001:10001
EXPOSE 8000

# ALLOWED_HOSTS is checked on every request, so the probe presents the first allowed name.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.').replace('*', 'localhost'); r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

CMD ["python", "manage.py", "serve", "--host", "0.0.0.0"]
