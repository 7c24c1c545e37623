"""The hub's gRPC services, one module each: Exchange (the query pipeline's front), Registry,
ConsentRegistry, Admin, Audit and health. ``calls`` and ``claims`` are what the services
outside the pipeline share: recording each call, and deciding a request exactly once."""
