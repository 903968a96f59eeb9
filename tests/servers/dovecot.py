"""A throw-away Dovecot 2.3 IMAP server for integration tests (no systemd).

Layout under ``base_dir``: ``dovecot.conf``, ``users`` (passwd-file), ``dovecot.log``,
``run/`` (base_dir), ``state/``. Mail lives in ``mail_root`` (owned by uid/gid ``mail``).
Because the imap processes run as uid ``mail``, every directory above ``mail_root`` must be
traversable by "others". pytest's ``tmp_path_factory`` directories are not (the
``/tmp/pytest-of-root`` chain is mode 0700, and pytest resets that mode at each session
start), so when ``base_dir`` is not traversable the mail root is put in a private
``tempfile.mkdtemp()`` directory under ``/tmp`` instead, which :meth:`Dovecot.cleanup` removes.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import aioimaplib

from tests.servers.ports import (
    LOCALHOST,
    free_port,
    pid_alive,
    port_accepts,
    read_banner,
    require_binary,
    tail,
    wait_pid_gone,
)

__all__ = ["Dovecot", "DovecotError", "append_messages"]

_MAIL_UID_NAME = "mail"
_APPENDUID_RE = re.compile(r"APPENDUID \d+ (\d+)")


class DovecotError(RuntimeError):
    """Dovecot failed to start, stop or run a doveadm command."""


def _traversable_by_others(path: Path) -> bool:
    """True if every directory from / down to ``path`` has the o+x bit."""
    path = path.resolve()
    for directory in [path, *path.parents]:
        try:
            mode = directory.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def _mail_ids() -> tuple[int, int]:
    import grp
    import pwd

    try:
        return pwd.getpwnam(_MAIL_UID_NAME).pw_uid, grp.getgrnam(_MAIL_UID_NAME).gr_gid
    except KeyError as exc:  # pragma: no cover - Debian always has it
        raise DovecotError("system user/group 'mail' does not exist") from exc


class Dovecot:
    """One Dovecot instance with its own config, listening on 127.0.0.1:``port``.

    Several instances can run at once: each has a unique ``instance_name`` and base_dir.
    """

    def __init__(
        self,
        base_dir: Path,
        users: dict[str, str] | None = None,
        *,
        oauth2_introspection_url: str | None = None,
        port: int | None = None,
        mail_root: Path | None = None,
        auth_failure_delay: int = 0,
    ) -> None:
        self.dovecot_bin = require_binary("dovecot", "dovecot-imapd")
        self.doveadm_bin = require_binary("doveadm", "dovecot-imapd")
        if os.geteuid() != 0:
            raise DovecotError("the Dovecot fixture must run as root (mail_uid=mail)")
        self.host = LOCALHOST
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.instance_name = f"mailgate-test-{uuid.uuid4().hex[:10]}"
        self.oauth2_introspection_url = oauth2_introspection_url
        self.auth_failure_delay = auth_failure_delay
        self.conf_path = self.base_dir / "dovecot.conf"
        self.oauth2_conf_path = self.base_dir / "dovecot-oauth2.conf.ext"
        self.passwd_path = self.base_dir / "users"
        self.log_path = self.base_dir / "dovecot.log"
        self.run_dir = self.base_dir / "run"
        self.state_dir = self.base_dir / "state"
        self._own_mail_root = False
        if mail_root is None:
            if _traversable_by_others(self.base_dir):
                mail_root = self.base_dir / "mail"
            else:
                mail_root = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-mail-"))
                self._own_mail_root = True
        self.mail_root = Path(mail_root).resolve()
        self.users: dict[str, str] = {}
        self._pid: int | None = None
        self._atexit_registered = False
        self._prepare_dirs()
        for email, password in (users or {}).items():
            self.add_user(email, password)
        self.passwd_path.touch()
        self.write_config()

    # ------------------------------------------------------------------ config
    def _prepare_dirs(self) -> None:
        uid, gid = _mail_ids()
        for directory in (self.run_dir, self.state_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.mail_root.mkdir(parents=True, exist_ok=True)
        os.chown(self.mail_root, uid, gid)
        os.chmod(self.mail_root, 0o770)

    def write_config(self) -> None:
        """(Re)write dovecot.conf (and the oauth2 .ext file when configured)."""
        mechanisms = "plain login"
        oauth_passdb = ""
        if self.oauth2_introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            self.oauth2_conf_path.write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "force_introspection = yes\n"
            )
            oauth_passdb = (
                "passdb {\n"
                "  driver = oauth2\n"
                "  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.oauth2_conf_path}\n"
                "}\n"
            )
        conf = f"""\
instance_name = {self.instance_name}
base_dir = {self.run_dir}
state_dir = {self.state_dir}
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = {self.auth_failure_delay} secs
auth_verbose = yes
mail_location = maildir:{self.mail_root}/%d/%n
mail_uid = {_MAIL_UID_NAME}
mail_gid = {_MAIL_UID_NAME}
first_valid_uid = 1
first_valid_gid = 1
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = create
  }}
}}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = static
  args = uid={_MAIL_UID_NAME} gid={_MAIL_UID_NAME} home={self.mail_root}/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""
        self.conf_path.write_text(conf)

    # ------------------------------------------------------------------- users
    def add_user(self, email: str, password: str) -> None:
        """Append a user to the passwd-file (Dovecot re-reads it when it changes)."""
        if ":" in email or ":" in password or "\n" in email + password:
            raise ValueError("passwd-file users/passwords must not contain ':' or newlines")
        with self.passwd_path.open("a") as fh:
            fh.write(f"{email}:{{PLAIN}}{password}::::::\n")
        self.users[email] = password

    def maildir(self, user: str) -> Path:
        """The Maildir root of ``user`` (it exists only after the first login/append)."""
        local, _, domain = user.partition("@")
        return self.mail_root / domain / local

    # --------------------------------------------------------------- lifecycle
    @property
    def pid(self) -> int | None:
        """PID of the master process we started (None when stopped)."""
        return self._pid

    def _read_pidfile(self) -> int | None:
        try:
            return int((self.run_dir / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout: float = 10.0) -> None:
        """Start the master and wait until the port answers ``* OK``."""
        if self._pid is not None and pid_alive(self._pid):
            return
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            try:
                self._start_once(timeout)
                break
            except DovecotError:
                in_use = "Address already in use" in tail(self.log_path, 20)
                if attempt + 1 >= attempts or not in_use:
                    raise
                self.port = free_port()
                self.write_config()
        self._fixed_port = True  # keep the port across restart()
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True

    def _start_once(self, timeout: float) -> None:
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        proc = subprocess.run(
            [self.dovecot_bin, "-c", str(self.conf_path)],
            capture_output=True,
            text=True,
            cwd=self.base_dir,
        )
        if proc.returncode != 0:
            raise DovecotError(
                f"dovecot -c {self.conf_path} exited with {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}\n--- {self.log_path} ---\n"
                f"{self._log_since(log_offset)}"
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._read_pidfile()
            if pid is not None:
                self._pid = pid
                if not pid_alive(pid):
                    break
            if port_accepts(self.host, self.port):
                banner = read_banner(self.host, self.port)
                if banner.startswith(b"* OK"):
                    if self._pid is None:
                        self._pid = self._read_pidfile()
                    return
            time.sleep(0.02)
        pid = self._pid
        self._kill_master()
        raise DovecotError(
            f"Dovecot (pid {pid}) did not answer '* OK' on {self.host}:{self.port} "
            f"within {timeout}s\n--- {self.log_path} ---\n{self._log_since(log_offset)}"
        )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return tail(self.log_path)
        return "\n".join(text.splitlines()[-40:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the master (doveadm stop, then SIGTERM/SIGKILL by pid) and wait until gone."""
        pid = self._pid or self._read_pidfile()
        if pid is None or not pid_alive(pid):
            self._pid = None
            return
        subprocess.run(
            [self.doveadm_bin, "-c", str(self.conf_path), "stop"],
            capture_output=True,
            timeout=timeout,
        )
        if not wait_pid_gone(pid, timeout):
            self._kill_master()
        self._pid = None
        # the listener must be closed before a restart can bind the same port again
        deadline = time.monotonic() + timeout
        while port_accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _kill_master(self) -> None:
        pid = self._pid or self._read_pidfile()
        if pid is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not pid_alive(pid):
                break
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            wait_pid_gone(pid, 5.0)
        self._pid = None

    def restart(self, timeout: float = 10.0) -> None:
        """Stop and start again on the same port (existing connections are dropped)."""
        self.stop(timeout)
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop and remove the private mail root (if we created it)."""
        try:
            self.stop()
        finally:
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False
            if self._own_mail_root:
                shutil.rmtree(self.mail_root, ignore_errors=True)

    def _atexit_stop(self) -> None:
        try:
            self.cleanup()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass

    # ----------------------------------------------------------------- doveadm
    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm -c <conf> ARGS``."""
        proc = subprocess.run(
            [self.doveadm_bin, "-c", str(self.conf_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and proc.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} exited with {proc.returncode}: "
                f"{proc.stdout}{proc.stderr}"
            )
        return proc

    def kick(self, user: str) -> str:
        """Disconnect all IMAP sessions of ``user`` (they get ``* BYE``). Returns doveadm output."""
        # exit code 68 (EX_NOUSER) just means "nobody was connected"
        proc = self.doveadm("kick", user, check=False)
        if proc.returncode not in (0, 68):
            raise DovecotError(
                f"doveadm kick {user} exited with {proc.returncode}: {proc.stdout}{proc.stderr}"
            )
        return proc.stdout

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _quote_mailbox(mailbox: str) -> str:
    if not mailbox.isascii():
        raise ValueError("non-ASCII mailbox names need modified UTF-7; not supported here")
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_text(line: bytes | bytearray | str) -> str:
    return line if isinstance(line, str) else bytes(line).decode(errors="replace")


async def append_messages(
    host: str,
    port: int,
    user: str,
    password: str,
    mailbox: str,
    messages: Sequence[bytes],
    flags: str | Sequence[str] | None = None,
    *,
    timeout: float = 30.0,
) -> list[int]:
    """APPEND ``messages`` to ``mailbox`` (seeding helper). Returns the new UIDs.

    ``flags`` applies to every message: ``"\\\\Seen"``, ``"(\\\\Seen \\\\Flagged)"`` or a list.
    """
    if flags is not None and not isinstance(flags, str):
        flags = "(" + " ".join(flags) + ")"
    if flags == "" or flags == "()":
        flags = None
    quoted = _quote_mailbox(mailbox)
    client = aioimaplib.IMAP4(host=host, port=port, timeout=timeout)
    await asyncio.wait_for(client.wait_hello_from_server(), timeout)
    uids: list[int] = []
    try:
        resp = await asyncio.wait_for(client.login(user, password), timeout)
        if resp.result != "OK":
            raise DovecotError(f"IMAP LOGIN {user} failed: {resp.result} {resp.lines!r}")
        for message in messages:
            resp = await asyncio.wait_for(
                client.append(bytes(message), mailbox=quoted, flags=flags), timeout
            )
            if resp.result != "OK":
                raise DovecotError(f"APPEND to {mailbox} failed: {resp.result} {resp.lines!r}")
            match = _APPENDUID_RE.search(" ".join(_as_text(line) for line in resp.lines))
            if match is None:
                raise DovecotError(f"APPEND response without APPENDUID: {resp.lines!r}")
            uids.append(int(match.group(1)))
    finally:
        try:
            await asyncio.wait_for(client.logout(), 5.0)
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass
    return uids
