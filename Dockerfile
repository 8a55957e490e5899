# 工伤保险协议管理与结算平台 — one image for web (gunicorn), worker and beat (celery).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Run the project from /app (templates/, static/ and the apps sit beside manage.py),
    # ahead of the copy that `pip install .` puts into site-packages.
    PYTHONPATH=/app \
    MEDIA_ROOT=/app/var/media

# WeasyPrint renders PDFs with Pango; Noto CJK gives the PDFs real Chinese glyphs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Only what the portal runs on: not .venv, db.sqlite3, var/ or tests.
COPY pyproject.toml manage.py ./
COPY config ./config
COPY core ./core
COPY accounts ./accounts
COPY institutions ./institutions
COPY agreements ./agreements
COPY settlement ./settlement
COPY audit ./audit
COPY templates ./templates
COPY static ./static

RUN pip install . \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin portal \
    && mkdir -p /app/var/media \
    && chown -R portal:portal /app/var

USER portal
EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
