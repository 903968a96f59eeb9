FROM python:3.11-slim
WORKDIR /srv/mailgate
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
RUN pip install --no-cache-dir -e . && useradd --system --home /srv/mailgate mailgate \
    && mkdir -p /var/lib/mailgate && chown mailgate /var/lib/mailgate
USER mailgate
ENV MAILGATE_HOST=0.0.0.0 MAILGATE_DATA_DIR=/var/lib/mailgate
EXPOSE 3000
CMD ["mailgate", "serve"]
