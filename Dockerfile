# The curate image: the trainer and the 3LC object service run from it (see docker-compose.yml).
# torch comes from the registry's default build (CUDA wheels), so the same image trains on a GPU host.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY curation ./curation
RUN uv sync --locked --no-dev
ENV PATH="/app/.venv/bin:$PATH"
WORKDIR /workspace
CMD ["curate", "--help"]
