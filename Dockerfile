# One image for every Jembatan process: the hub, the simulated agencies and their connectors,
# the citizens' portal.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY jembatan jembatan
COPY hub hub
COPY connectors connectors
COPY consent consent
COPY policies policies
COPY examples examples
COPY portal portal
RUN pip install --no-cache-dir .
ENTRYPOINT ["jembatan"]
CMD ["--help"]
