# One image for every Jembatan process: the hub, the simulated agencies and their connectors,
# the citizens' portal.
FROM python:3.11-slim

# The commit the image is built from, for the jembatan_build_info metric:
#   docker compose build --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD)
# Without it the metric says "unknown".
ARG GIT_COMMIT=unknown
ENV JEMBATAN_GIT_COMMIT=$GIT_COMMIT \
    JEMBATAN_HOME=/home/jembatan \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app

# The dependencies first, exactly as the lock pins them, each file checked against its hash
# (docs/dependencies.md: the lock and how to renew it); a change to the code alone does not
# install them again.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

# Then the project itself, resolving nothing more: what it depends on is the lock's.
COPY pyproject.toml README.md ./
COPY jembatan jembatan
COPY hub hub
COPY connectors connectors
COPY consent consent
COPY policies policies
COPY examples examples
COPY portal portal
RUN pip install --no-cache-dir --no-deps .

# Not root: an unprivileged user owning the home and the directories the compose file mounts
# the CA key and the balancer's credentials on (docker-compose.yml; a fresh named volume
# takes its owner from the image's directory).
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/jembatan \
        --shell /usr/sbin/nologin jembatan \
    && install -d -o jembatan -g jembatan -m 0700 /srv/jembatan-ca /srv/jembatan-lb
USER 10001:10001

# The hub's own health (grpc.health.v1 over mTLS, as the hub); services that run something
# else (the agencies, the one-shot set-up) set their own in docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["jembatan", "health", "--hub", "127.0.0.1:7443"]
ENTRYPOINT ["jembatan"]
CMD ["--help"]
