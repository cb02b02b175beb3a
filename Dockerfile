# One image for every Nurture service; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY nurture ./nurture
COPY workers ./workers
COPY migrations ./migrations
COPY templates ./templates
RUN pip install --no-cache-dir . && useradd --system nurture
USER nurture
CMD ["nurture", "serve", "--host", "0.0.0.0", "--port", "8000"]
