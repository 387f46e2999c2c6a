# The emulator as a merchant's CI or staging network runs it: built from the wheel, run as a
# non-root user, store in /data, served on 0.0.0.0:8080.
#
#   docker build -t koogallery-sandbox .
#   docker run --rm -p 8080:8080 -v koogallery-data:/data koogallery-sandbox
#   -> console http://localhost:8080/, control API /sandbox/api/v1/, readiness /healthz
# The store lives in the /data volume; a bind-mounted folder must be writable by uid 10001.
#
# Every setting of README "Configuration" can be given with -e (e.g. -e KOOGALLERY_CLOCK_MODE=manual,
# -e KOOGALLERY_DATABASE=:memory: for a throw-away store).

# -- build: the wheel, exactly as `python -m build` makes it (fixtures/ inside as emulator/_fixtures)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator/ emulator/
COPY webui/ webui/
COPY fixtures/ fixtures/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# -- runtime: the installed wheel and nothing of the source tree
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist/ /tmp/dist/
# The "postgres" extra adds the PostgreSQL driver (KOOGALLERY_DATABASE=postgresql://..., compose.yaml).
RUN pip install "$(echo /tmp/dist/koogallery_sandbox-*.whl)[postgres]" \
 && rm -rf /tmp/dist \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin koogallery \
 && mkdir -p /data \
 && chown koogallery:koogallery /data
USER koogallery
WORKDIR /data
ENV KOOGALLERY_HOST=0.0.0.0 \
    KOOGALLERY_PORT=8080 \
    KOOGALLERY_DATABASE=/data/koogallery-sandbox.db
# Host names served (README "Security", DNS-rebinding defence): besides localhost, 127.0.0.1, [::1]
# and the container's own host name, only the names listed here, comma-separated. Published with
# `-p 8080:8080` and opened as http://localhost:8080 it works as is; reached under another name
# (a compose service such as `koogallery`, a staging DNS name) that name must be listed, e.g.
#   docker run -e KOOGALLERY_ALLOWED_HOSTS=koogallery,koogallery.staging.internal ...
# The signed open APIs (/api/mkp-openapi-public/...) answer under any name.
ENV KOOGALLERY_ALLOWED_HOSTS=""
VOLUME ["/data"]
EXPOSE 8080
# Slim images have no curl: ask /healthz with Python (503 while starting, 200 once ready).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KOOGALLERY_PORT', '8080'), timeout=4)"]
CMD ["python", "-m", "emulator", "serve"]
