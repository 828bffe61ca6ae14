"""The serving process freezes what it holds for its life out of the cyclic GC's scans
(`interpreter.py`): once started, and again once its first request has ended (FastAPI builds
each route's validators then); and it hands the GIL over sooner."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from blastdeck.api.app import create_app
from blastdeck.api.heap_freeze import FreezeHeapAfterFirstRequest
from blastdeck.api.server import _Server
from blastdeck.interpreter import GIL_SWITCH_INTERVAL_S
from blastdeck.runtime import Runtime
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Each test starts with nothing frozen and leaves nothing frozen: a frozen test session
    would keep every cycle its later tests drop."""
    interval = sys.getswitchinterval()
    gc.unfreeze()
    yield
    gc.unfreeze()
    sys.setswitchinterval(interval)


def tracked(obj: object) -> bool:
    """Whether the cyclic GC still scans `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def _app(made: list[object]) -> Starlette:
    def hello(_request: object) -> PlainTextResponse:
        made.append([])  # made while serving: tracked until the next freeze
        return PlainTextResponse("hello")

    def boom(_request: object) -> PlainTextResponse:
        raise RuntimeError("boom")

    return Starlette(routes=[Route("/hello", hello), Route("/boom", boom)])


def test_the_heap_is_frozen_once_the_first_request_has_ended() -> None:
    made: list[object] = []
    before = [[]]  # a container made before: scanned until the freeze
    wrapper = FreezeHeapAfterFirstRequest(_app(made))
    with TestClient(wrapper) as client:  # the lifespan alone freezes nothing
        assert not wrapper.frozen and gc.get_freeze_count() == 0 and tracked(before)
        assert client.get("/hello").text == "hello"
        assert wrapper.frozen and gc.get_freeze_count() > 0
        assert not tracked(before) and not tracked(made[0])
        assert client.get("/hello").text == "hello"
        assert tracked(made[1])  # later objects are collected as before: no second freeze


def test_a_first_request_that_fails_still_freezes() -> None:
    wrapper = FreezeHeapAfterFirstRequest(_app([]))
    with TestClient(wrapper, raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    assert wrapper.frozen and gc.get_freeze_count() > 0


def test_serve_freezes_and_switches_sooner_once_its_app_has_started(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    runtime = Runtime(settings)
    config = uvicorn.Config(create_app(settings, runtime), log_level="warning", lifespan="on")
    server = _Server(config, runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))

    async def start_then_stop() -> tuple[int, float]:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            assert not serving.done()
            await asyncio.sleep(0.01)
        count, interval = gc.get_freeze_count(), sys.getswitchinterval()
        server.should_exit = True
        await serving
        return count, interval

    assert sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S
    try:
        frozen, interval = asyncio.run(start_then_stop())
        assert frozen > 0
        assert interval == pytest.approx(GIL_SWITCH_INTERVAL_S)
    finally:
        sock.close()
