# The admin UI is built in its own stage, so the image carries the bundle and no Node toolchain.
FROM node:22-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
RUN npm run build

FROM python:3.11-slim
WORKDIR /srv/mailgate
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
COPY --from=ui /src/app/static/admin ./app/static/admin
RUN pip install --no-cache-dir -e . && useradd --system --home /srv/mailgate mailgate \
    && mkdir -p /var/lib/mailgate && chown mailgate /var/lib/mailgate
USER mailgate
ENV MAILGATE_HOST=0.0.0.0 MAILGATE_DATA_DIR=/var/lib/mailgate
EXPOSE 3000
CMD ["mailgate", "serve"]
