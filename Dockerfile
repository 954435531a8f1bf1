# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 statuspage
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STATUSPAGE_ENVIRONMENT=production \
    STATUSPAGE_DATA_DIR=/home/statuspage/data
USER statuspage
WORKDIR /home/statuspage
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Production runs against external PostgreSQL and Redis: set STATUSPAGE_DATABASE_URL and
# STATUSPAGE_REDIS_URL. `statuspage migrate` and `statuspage worker` use the same image.
CMD ["statuspage", "api", "--host", "0.0.0.0", "--port", "8000"]
