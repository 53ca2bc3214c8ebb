# The streamer task (`stds stream`), for Fargate on ARM64. Built by `cdk deploy` from this folder.
FROM public.ecr.aws/docker/library/python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# /app belongs to root and the task runs as stds: malformed exchange messages go to a writable place
# (and into the log, which is where a user reads them on Fargate)
ENV STDS_DEAD_LETTERS=/tmp/stds/dead-letters.jsonl
WORKDIR /app
COPY pyproject.toml README.md ./
COPY events events
COPY consumers consumers
COPY producers producers
COPY infra infra
RUN pip install . && useradd --uid 10001 --no-create-home stds
USER stds
ENTRYPOINT ["stds", "stream"]
