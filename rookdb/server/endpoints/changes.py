"""``/databases/{db}/changes``: the changes API's websocket.

The client sends commands ``{"CommandId", "Command", "Param", "Params"}`` and gets each one confirmed
(``{"CommandId", "Type": "Confirm"}``) once it applies; notifications follow in commit order. Every
message goes out as a text frame holding a JSON array of one object, which is how the clients read
the feed. A frame that is not a command gets ``{"Type": "Error", "Exception"}`` and the connection is
closed; a watcher that falls too far behind is closed with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import orjson
from starlette.websockets import WebSocket

from rookdb.documents.changes import Watcher
from rookdb.errors import RookError
from rookdb.security import READ, refusal
from rookdb.server.requests import database_of

__all__ = ["MAX_PENDING_NOTIFICATIONS", "changes"]

# Notifications a connection may have waiting before it is dropped as too slow.
MAX_PENDING_NOTIFICATIONS = 100_000
_POLICY_VIOLATION = 1008
_UNSUPPORTED_DATA = 1003


class _Outbox:
    """Notifications handed over by writer threads to the connection's event loop, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._pending = 0
        self._lock = threading.Lock()

    def deliver(self, message: dict[str, Any] | None) -> bool:
        with self._lock:
            if self._pending >= MAX_PENDING_NOTIFICATIONS:
                return False
            self._pending += 1
        self._loop.call_soon_threadsafe(self._queue.put_nowait, message)
        return True

    async def next(self) -> dict[str, Any] | None:
        message = await self._queue.get()
        with self._lock:
            self._pending -= 1
        return message


def _refused(websocket: WebSocket, database: str) -> str | None:
    """Why this connection may not watch ``database`` (the routes' guard does not see websockets)."""
    security = websocket.app.state.security
    chain = websocket.scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    identity = security.identify(chain[0] if chain else None)
    return refusal(READ, identity, database, from_client_api=True)


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps([message]).decode())


async def _pump(websocket: WebSocket, outbox: _Outbox, watcher: Watcher) -> None:
    while (message := await outbox.next()) is not None:
        if watcher.dropped is not None:
            await _send(websocket, {"Type": "Error", "Exception": watcher.dropped})
            await websocket.close(_POLICY_VIOLATION, watcher.dropped[:120])
            return
        await _send(websocket, message)


def _command(text: str) -> tuple[int, str, Any]:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"A changes command must be JSON: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("Command"), str):
        raise ValueError('A changes command must be {"CommandId", "Command", "Param"}.')
    command_id = raw.get("CommandId")
    if not isinstance(command_id, int) or isinstance(command_id, bool):
        raise ValueError("A changes command needs an integer CommandId.")
    parameter = raw.get("Param")
    if parameter is None and isinstance(raw.get("Params"), list) and raw["Params"]:
        parameter = raw["Params"][0]
    return command_id, raw["Command"], parameter


async def changes(websocket: WebSocket) -> None:
    try:
        database = await database_of(websocket)
    except RookError as error:
        await websocket.close(_POLICY_VIOLATION, error.message[:120])
        return
    reason = _refused(websocket, database.name)
    if reason is not None:
        await websocket.close(_POLICY_VIOLATION, reason[:120])
        return
    await websocket.accept()
    outbox = _Outbox(asyncio.get_running_loop())
    watcher = Watcher(outbox.deliver)
    database.changes.add(watcher)
    pump = asyncio.create_task(_pump(websocket, outbox, watcher))
    try:
        while not pump.done():
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            try:
                text = received.get("text")
                if text is None:
                    raise ValueError("A changes command must be a text frame.")
                command_id, command, parameter = _command(text)
                watcher.subscriptions.apply(command, parameter)
            except (ValueError, RookError) as error:
                message = error.message if isinstance(error, RookError) else str(error)
                outbox.deliver({"Type": "Error", "Exception": message})
                outbox.deliver(None)
                await pump
                await websocket.close(_UNSUPPORTED_DATA, message[:120])
                return
            outbox.deliver({"CommandId": command_id, "Type": "Confirm"})
    finally:
        database.changes.remove(watcher)
        if not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
