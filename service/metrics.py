"""Prometheus metrics, one registry per app (so tests and several apps in one process never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.requests = Counter("stance_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram("stance_request_seconds", "HTTP request latency", ["route"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.batch_size = Histogram("stance_batch_texts", "texts per model micro-batch", registry=r,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.model_calls = Counter("stance_model_calls", "forward passes of the model", registry=r)
        self.queue_depth = Gauge("stance_queue_texts", "texts waiting for or in the model", registry=r)
        self.model_info = Info("stance_model", "the loaded model", registry=r)

    def observe(self, route: str, method: str, status: int, seconds: float):
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self):
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
