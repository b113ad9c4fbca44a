"""Synchronous image requests share a few pipeline slots, taken in turn by the tenants waiting.

A slot owns its pipelines (a pipeline's models serve one thread at a time). A request gets a free slot
at once; when none is free it waits in its tenant's queue, and each slot that comes free goes to the
waiting tenant with the fewest requests running, in turn among equals. So one tenant's burst delays
another tenant's image by at most the images already running, and a tenant whose queue is full is
answered at once (429) rather than holding a server thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from veil.api import Pipeline, PipelineConfig

__all__ = ["ImageSlot", "ImageSlots", "TenantQueueFullError"]

# Pipelines a slot keeps loaded, one per configuration asked for lately.
_PIPELINES_PER_SLOT = 2


class TenantQueueFullError(Exception):
    """The tenant already has as many image requests waiting as it may."""


class ImageSlot:
    """One slot: its pipelines, used by one request (one thread) at a time."""

    def __init__(self, factory: Callable[[PipelineConfig], Pipeline]) -> None:
        self._factory = factory
        self._pipelines: OrderedDict[str, Pipeline] = OrderedDict()
        self._lock = threading.Lock()  # the slot is held by one request; this guards close() too

    def pipeline(self, config: PipelineConfig) -> Pipeline:
        """Return the slot's pipeline for ``config``, loading it (and dropping the oldest) if needed."""
        key = repr(config)
        with self._lock:
            if key in self._pipelines:
                self._pipelines.move_to_end(key)
                return self._pipelines[key]
            pipeline = self._factory(config)
            self._pipelines[key] = pipeline
            while len(self._pipelines) > _PIPELINES_PER_SLOT:
                self._pipelines.popitem(last=False)[1].close()
            return pipeline

    def close(self) -> None:
        """Close the slot's pipelines."""
        with self._lock:
            for pipeline in self._pipelines.values():
                pipeline.close()
            self._pipelines.clear()


class ImageSlots:
    """Hand out slots to tenants fairly; use from the event loop only."""

    def __init__(
        self, factory: Callable[[PipelineConfig], Pipeline], *, slots: int, queue_per_tenant: int
    ) -> None:
        self._free: list[ImageSlot] = [ImageSlot(factory) for _ in range(slots)]
        self._all = list(self._free)
        self._queue_per_tenant = queue_per_tenant
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[ImageSlot]]] = {}
        # When each tenant with requests running or waiting was last given a slot: the turn order.
        self._served_at: dict[str, int] = {}
        self._grants = 0

    @asynccontextmanager
    async def hold(self, tenant: str) -> AsyncIterator[ImageSlot]:
        """Wait for a slot for ``tenant`` and hold it for the block.

        Raises:
            TenantQueueFullError: the tenant has ``queue_per_tenant`` requests waiting already.
        """
        slot = await self._acquire(tenant)
        try:
            yield slot
        finally:
            self._release(tenant, slot)

    def waiting(self, tenant: str) -> int:
        """Return how many of ``tenant``'s requests wait for a slot."""
        return len(self._waiting.get(tenant, ()))

    async def _acquire(self, tenant: str) -> ImageSlot:
        if self._free and not self._waiting:
            return self._grant(tenant)
        queue = self._waiting.setdefault(tenant, deque())
        if len(queue) >= self._queue_per_tenant:
            if not queue:
                del self._waiting[tenant]
            raise TenantQueueFullError(tenant)
        future: asyncio.Future[ImageSlot] = asyncio.get_running_loop().create_future()
        queue.append(future)
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release(tenant, future.result())  # granted as the request went away
            else:
                self._forget(tenant, future)
            raise

    def _forget(self, tenant: str, future: asyncio.Future[ImageSlot]) -> None:
        queue = self._waiting.get(tenant)
        if queue is not None and future in queue:
            queue.remove(future)
            if not queue:
                del self._waiting[tenant]

    def _grant(self, tenant: str) -> ImageSlot:
        self._running[tenant] = self._running.get(tenant, 0) + 1
        self._grants += 1
        self._served_at[tenant] = self._grants
        return self._free.pop()

    def _release(self, tenant: str, slot: ImageSlot) -> None:
        self._running[tenant] -= 1
        if not self._running[tenant]:
            del self._running[tenant]
            if tenant not in self._waiting:
                self._served_at.pop(tenant, None)
        self._free.append(slot)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._free and self._waiting:
            # The waiting tenant with the fewest running; among equals, the one served longest ago.
            tenant = min(self._waiting, key=lambda t: (self._running.get(t, 0), self._served_at.get(t, 0)))
            queue = self._waiting[tenant]
            future = queue.popleft()
            if not queue:
                del self._waiting[tenant]
            if not future.cancelled():
                future.set_result(self._grant(tenant))

    def close(self) -> None:
        """Close every slot's pipelines."""
        for slot in self._all:
            slot.close()
