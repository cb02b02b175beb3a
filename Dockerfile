# One image for every Nurture service; docker-compose.yml picks the command.
# The image holds the installed wheel only (templates and migrations ship inside it),
# so it runs exactly what `pip install nurture-*.whl` gives anyone else.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY nurture ./nurture
COPY workers ./workers
COPY templates ./templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NURTURE_DATA_DIR=/var/lib/nurture
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --home-dir /var/lib/nurture --shell /usr/sbin/nologin nurture \
    && mkdir -p /var/lib/nurture && chown nurture:nurture /var/lib/nurture
# Beat's schedule file, uploaded CSV imports and console-channel output live here.
VOLUME /var/lib/nurture
WORKDIR /var/lib/nurture
USER nurture
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=3 CMD ["nurture", "doctor", "--probe", "web"]
CMD ["nurture", "serve", "--host", "0.0.0.0", "--port", "8000"]
