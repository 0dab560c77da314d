"""One user-data stream connection, as the simulated server holds it.

A session is a bounded queue of text frames, each with the trio time it may
leave (a delayed event holds back everything behind it, as on one socket),
and a state:

- ``OPEN``: events arrive, pings are answered;
- ``EXPIRED``: its listen key expired (``listenKeyExpired`` was the last
  frame); nothing more arrives, pings are still answered, the connection stays
  open until the client leaves, the age limit or a disconnect closes it;
- ``SILENT``: half-open: nothing arrives, pings are never answered; healing
  the fault plan does not revive it (a dead peer stays dead) — the client has
  to notice and reconnect;
- ``CLOSED``: the next read raises
  :class:`~trio_fapi.protocol.stream_transport.StreamClosed`. Frames not yet
  read are lost, as with a dropped socket.

:meth:`push` never blocks: the exchange produces events inside its own
synchronous step, so a full queue closes the session (a slow reader is
disconnected, as Binance does) instead of waiting for the reader.
"""

from __future__ import annotations

import enum
import math
from collections import deque

import attrs
import trio

from trio_fapi.protocol.stream_transport import StreamClosed

__all__ = ["SessionState", "StreamSession"]


class SessionState(enum.Enum):
    """Where one connection stands (see the module docstring)."""

    OPEN = "open"
    EXPIRED = "expired"
    SILENT = "silent"
    CLOSED = "closed"


@attrs.define(eq=False)
class StreamSession:
    """The server's end of one stream connection.

    The listen key, the queued frames (a ``listenKeyExpired`` frame carries
    the key) and a held-back frame stay out of the repr.

    Attributes:
        session_id: Numbers connections from 1, in the order they opened.
        key: The listen key the connection was opened with.
        opened_s: trio's clock when it opened.
        capacity: Frames that may wait for the reader before it is dropped.
        state: See :class:`SessionState`.
        close_reason: Why the server (or the client) closed it.
        held: A frame a reorder fault holds back until the next one is sent.
    """

    session_id: int
    key: str = attrs.field(repr=False)
    opened_s: float
    capacity: int
    state: SessionState = SessionState.OPEN
    close_reason: str | None = None
    held: str | None = attrs.field(default=None, repr=False)
    _frames: deque[tuple[float, str]] = attrs.field(factory=deque, repr=False)
    _last_due: float = attrs.field(default=-math.inf, repr=False)
    _changed: trio.Event = attrs.field(factory=trio.Event, repr=False)
    _ended: trio.Event = attrs.field(factory=trio.Event, repr=False)

    @property
    def receiving(self) -> bool:
        """Whether events still go to this connection."""
        return self.state is SessionState.OPEN

    def push(self, frame: str, due_s: float) -> bool:
        """Queue ``frame`` to leave at ``due_s`` (or after the frame before it).

        Returns:
            ``False`` when the queue was full; the caller closes the session.
        """
        if len(self._frames) >= self.capacity:
            return False
        self._last_due = max(due_s, self._last_due)
        self._frames.append((self._last_due, frame))
        self._wake()
        return True

    def expire(self) -> None:
        """Stop sending events (after ``listenKeyExpired``, or silently)."""
        if self.state is SessionState.OPEN:
            self.state = SessionState.EXPIRED
            self.held = None

    def silence(self) -> None:
        """Go half-open: frames not yet read are lost, pongs stop."""
        if self.state in (SessionState.OPEN, SessionState.EXPIRED):
            self.state = SessionState.SILENT
            self.held = None
            self._frames.clear()
            self._wake()

    def close(self, reason: str) -> None:
        """Close the connection (once; later calls change nothing); unread frames are lost."""
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.CLOSED
        self.close_reason = reason
        self.held = None
        self._frames.clear()
        self._ended.set()
        self._wake()

    async def wait_closed(self) -> str:
        """Wait until the connection is closed; why it was."""
        await self._ended.wait()
        return self.close_reason or "closed"

    async def next_frame(self) -> str:
        """The next frame, once it is due.

        Raises:
            StreamClosed: The connection is closed (at once, even with frames
                still queued: they are lost).
        """
        await trio.lowlevel.checkpoint()
        while True:
            if self.state is SessionState.CLOSED:
                raise StreamClosed(self.close_reason or "closed")
            changed = self._changed
            if self._frames:
                due, frame = self._frames[0]
                if due <= trio.current_time():
                    self._frames.popleft()
                    return frame
                with trio.move_on_at(due):
                    await changed.wait()
            else:
                await changed.wait()

    async def pong(self) -> None:
        """Answer a ping: at once, or never while the connection is half-open.

        Raises:
            StreamClosed: The connection is (or becomes) closed.
        """
        await trio.lowlevel.checkpoint()
        while True:
            if self.state is SessionState.CLOSED:
                raise StreamClosed(self.close_reason or "closed")
            if self.state is not SessionState.SILENT:
                return
            await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
