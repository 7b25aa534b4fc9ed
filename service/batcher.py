"""Micro-batching: requests from many clients share model calls on one worker thread that owns the model.

The event loop only enqueues and awaits; the worker takes the first waiting request, waits up to `max_wait_ms`
for more, and stops adding when the batch would pass `max_batch_texts` or `max_batch_tokens`. Tokens are
estimated from characters (4 per token) so the event loop never tokenizes. When more than `queue_size` texts are
waiting, `submit` raises `QueueFull` and the service answers 429 instead of letting latency grow.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from model.explain import occlusion


class QueueFull(Exception):
    pass


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 2


@dataclass
class _Job:
    kind: str  # "classify" or "explain"
    texts: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    tokens: int = field(init=False)

    def __post_init__(self):
        self.tokens = sum(estimate_tokens(t) for t in self.texts)


class MicroBatcher:
    def __init__(self, load: Callable, settings, metrics):
        self._load, self.settings, self.metrics = load, settings, metrics
        self._queue: deque[_Job] = deque()
        self._cv = threading.Condition()
        self.pending = 0  # texts waiting or running
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.clf = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stance-model-worker", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=10)

    async def submit(self, texts: list[str], kind: str = "classify"):
        loop = asyncio.get_running_loop()
        job = _Job(kind, texts, loop, loop.create_future())
        with self._cv:
            if self.pending + len(texts) > self.settings.queue_size:
                raise QueueFull()
            self.pending += len(texts)
            self._queue.append(job)
            self.metrics.queue_depth.set(self.pending)
            self._cv.notify()
        return await job.future

    # ---- worker thread --------------------------------------------------------------------------------------
    def _take_batch(self) -> list[_Job] | None:
        s = self.settings
        with self._cv:
            while not self._queue and not self._stop:
                self._cv.wait()
            if self._stop:
                return None
            batch = [self._queue.popleft()]
            if batch[0].kind != "classify":
                return batch
            n, tokens = len(batch[0].texts), batch[0].tokens
            deadline = time.monotonic() + s.max_wait_ms / 1000
            while True:
                while not self._queue and (left := deadline - time.monotonic()) > 0:
                    self._cv.wait(timeout=left)
                if not self._queue:
                    break
                nxt = self._queue[0]
                if nxt.kind != "classify" or n + len(nxt.texts) > s.max_batch_texts or \
                        tokens + nxt.tokens > s.max_batch_tokens:
                    break
                batch.append(self._queue.popleft())
                n, tokens = n + len(nxt.texts), tokens + nxt.tokens
            return batch

    def _finish(self, jobs: list[_Job], results=None, error: BaseException | None = None):
        with self._cv:
            self.pending -= sum(len(j.texts) for j in jobs)
            self.metrics.queue_depth.set(self.pending)
        for j, r in zip(jobs, results or [None] * len(jobs)):
            if error is not None:
                j.loop.call_soon_threadsafe(_set, j.future, None, error)
            else:
                j.loop.call_soon_threadsafe(_set, j.future, r, None)

    def _run(self):
        try:
            self.clf = self._load()
            self.clf.predict_proba(["Warm-up statement for the model worker."])  # first call is slow
            self.metrics.model_info.info({"name": self.clf.name, "version": self.clf.version})
            self.ready.set()
        except BaseException as e:  # readyz reports it; requests get 503
            self.error = e
            return
        while (batch := self._take_batch()) is not None:
            try:
                if batch[0].kind == "explain":
                    text = batch[0].texts[0]
                    results = [occlusion(self.clf, text, top_k=self.settings.explain_top_k)]
                else:
                    texts = [t for j in batch for t in j.texts]
                    calls = self.clf.model_calls
                    probs = self.clf.predict_proba(texts, batch_size=self.settings.max_batch_texts)
                    self.metrics.batch_size.observe(len(texts))
                    self.metrics.model_calls.inc(self.clf.model_calls - calls)
                    results, at = [], 0
                    for j in batch:
                        results.append(probs[at : at + len(j.texts)])
                        at += len(j.texts)
                self._finish(batch, results)
            except Exception as e:  # one bad batch must not kill the worker
                self._finish(batch, error=e)


def _set(future: asyncio.Future, result, error):
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
