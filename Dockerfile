# The registry's one image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim

# WeasyPrint's system libraries and fonts: the "runtime" group of deploy/debian-packages.txt
# (the one list `make install` uses too), plus curl for health checks.
COPY deploy/debian-packages.txt /tmp/debian-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
      $(awk '$1 == "runtime" {print $2}' /tmp/debian-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/debian-packages.txt

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FLASK_APP=admin \
    REGISTRY_ENV=production \
    VAR_DIR=/var/lib/registry \
    PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY admin ./admin
COPY models ./models
COPY forms ./forms
COPY tasks ./tasks
RUN pip install -e .
COPY templates ./templates
COPY migrations ./migrations

RUN useradd --system --uid 10001 --home-dir /app registry \
 && mkdir -p /var/lib/registry/releases /var/lib/registry/uploads /var/lib/registry/outbox \
 && chown -R registry /var/lib/registry
USER registry

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["sh", "-c", "exec gunicorn --workers 3 --threads 4 --bind 0.0.0.0:${PORT} --forwarded-allow-ips='*' --no-control-socket --limit-request-line 8190 --access-logfile - --access-logformat '%(h)s %(t)s %(m)s %(U)s %(H)s %(s)s %(b)s %(D)s' 'admin:create_app()'"]
