# Slim CPU image: installs with the same Makefile targets as a developer machine, builds the default model at
# build time (so the image starts serving at once), and runs as a non-root user.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 stance
WORKDIR /app
COPY pyproject.toml Makefile README.md ./
COPY model ./model
COPY service ./service
COPY training ./training
RUN chown -R stance:stance /app
USER stance

# `make install` creates .venv with pip (torch 2.13.0 CPU) and checks the backbone's sha256;
# `make model` fine-tunes MiniLM on the corpus (about 15-20 minutes on 2 cores).
RUN make install && make model

ENV PATH=/app/.venv/bin:$PATH STANCE_MODEL=/app/models/stance-minilm
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["stance", "serve", "--host", "0.0.0.0", "--port", "8000"]
