"""Fixes for aioimaplib 2.0.3 defects, applied once on import of ``app.mail``'s IMAP code.

- ``_handle_responses`` recursed once per line: ~1000 short lines in one read raised RecursionError
  and left the command hanging. Replaced with a loop.
- ``FetchCommand.wait_data`` re-joined every line received so far on each new line (O(n^2)).
  Replaced with an incremental parenthesis counter.
- ``_untagged_response`` removed every ``"* "`` in a line, not just the leading one, so a subject
  such as "5 * 3" reached us as "5 3". Only the prefix is stripped now.
- NOTIFY (RFC 5465) and UNSELECT (RFC 3691) are missing from aioimaplib's command table and are
  added; untagged lines nobody waits for go to ``protocol.unsolicited`` instead of being dropped.
- An AUTHENTICATE failure arrives as a ``+ <challenge>`` that must be answered with an empty line;
  aioimaplib never answered, so a bad XOAUTH2 token hung until the timeout.
- ``IdleCommand`` queued its pushes only at the end of a read: one the server sent after DONE in
  the same read as the tagged OK stayed in its buffer, and was lost. They are queued before the
  command completes now.
"""

from __future__ import annotations

from typing import Any

from aioimaplib import aioimaplib as _a

_applied = False
#: What ``apply`` replaced, so tests can show each defect with the stock code.
ORIGINAL = {
    "handle_responses": _a.IMAP4ClientProtocol._handle_responses,
    "continuation": _a.IMAP4ClientProtocol._continuation,
    "fetch_command": _a.FetchCommand,
    "untagged_response": _a.IMAP4ClientProtocol._untagged_response,
    "idle_command": _a.IdleCommand,
}


def _handle_responses(self: Any, data: bytes, line_handler: Any, current_cmd: Any = None) -> None:
    while True:
        if not data:
            if self.pending_sync_command is not None:
                self.pending_sync_command.flush()
            if current_cmd is not None and current_cmd.wait_data():
                raise _a.IncompleteRead(current_cmd)
            return
        if current_cmd is not None and current_cmd.wait_literal_data():
            data = current_cmd.append_literal_data(data)
            if current_cmd.wait_literal_data():
                raise _a.IncompleteRead(current_cmd)
        line, sep, tail = data.partition(_a.CRLF)
        if not sep:
            raise _a.IncompleteRead(current_cmd, data)
        cmd = line_handler(line, current_cmd)
        match = _a.literal_data_re.match(line)
        if match:
            if cmd is None:
                cmd = _a.Command("NIL", "unused")
            cmd.begin_literal_data(int(match.group("size")))
            data, current_cmd = tail, cmd
        elif cmd is not None and cmd.wait_data():
            data, current_cmd = tail, cmd
        else:
            data, current_cmd = tail, None


class FastFetchCommand(_a.FetchCommand):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._depth = 0
        super().__init__(*args, **kwargs)

    def append_to_resp(self, line: Any, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if type(line) is bytes:  # literals arrive as bytearray and are not counted
            if self.FETCH_MESSAGE_DATA_RE.match(line):
                self._depth = 0
            self._depth += line.count(b"(") - line.count(b")")

    def wait_data(self) -> bool:
        return self._depth != 0


class FlushingIdleCommand(_a.IdleCommand):  # type: ignore[misc]
    def append_to_resp(self, line: Any, result: str = "Pending") -> None:
        if result != "Pending":  # the tagged response: nothing more comes for this IDLE
            self.flush()
        super().append_to_resp(line, result)


def _continuation(self: Any, line: bytes) -> None:
    cmd = self.pending_sync_command
    if cmd is not None and cmd.name == "AUTHENTICATE":
        cmd.append_to_resp(line)
        self.transport.write(b"\r\n")
        return
    ORIGINAL["continuation"](self, line)


def _untagged_response(self: Any, line: bytes) -> Any:
    if line.startswith(b"* "):
        line = line[2:]
    if self.pending_sync_command is not None:
        self.pending_sync_command.append_to_resp(line)
        return self.pending_sync_command
    match = _a.message_data_re.match(line)
    if match:
        cmd_name, text = match.group(1), match.string
    else:
        cmd_name, _, text = line.partition(b" ")
    command = self.pending_async_commands.get(cmd_name.decode(errors="replace").upper())
    if command is not None:
        command.append_to_resp(text)
        return command
    command = self.pending_async_commands.get("NOOP")  # servers may send untagged data any time
    if command is not None:
        command.append_to_resp(line)
    elif getattr(self, "unsolicited", None) is not None:
        self.unsolicited(line)  # e.g. NOTIFY's STATUS lines between commands
    return command


def apply() -> None:
    global _applied
    if _applied:
        return
    _a.IMAP4ClientProtocol._handle_responses = _handle_responses
    _a.IMAP4ClientProtocol._continuation = _continuation
    _a.IMAP4ClientProtocol._untagged_response = _untagged_response
    _a.Commands.setdefault("NOTIFY", _a.Cmd("NOTIFY", (_a.AUTH, _a.SELECTED), _a.Exec.is_sync))
    _a.Commands.setdefault("UNSELECT", _a.Cmd("UNSELECT", (_a.SELECTED,), _a.Exec.is_sync))
    _a.FetchCommand = FastFetchCommand
    _a.IdleCommand = FlushingIdleCommand
    _applied = True
