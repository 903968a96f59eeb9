"""A throw-away Cyrus IMAP 3 server for integration tests, beside the test Dovecot.

The Debian package ``cyrus-imapd`` conflicts with ``dovecot-imapd``, so it is never installed:
its ``imapd`` and ``idled`` are unpacked into a cache directory (``MAILGATE_CYRUS_CACHE``, default
``/var/cache/mailgate/cyrus``) and run against the libraries of the installed ``cyrus-common``.
``cyrmaster`` drops to the ``cyrus`` user, so the runtime directory is a private ``/tmp``
directory (mode 0711) owned by it; users live in a private sasldb, not ``/etc/sasldb2``.

What clients meet: hierarchy separator ``.``, personal folders under ``INBOX.``, no special-use
flags on folders, and IDLE pushed by ``idled``.
"""

from __future__ import annotations

import atexit
import contextlib
import imaplib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers.ports import (
    LOCALHOST,
    MissingBinaryError,
    free_port,
    pid_alive,
    read_banner,
    require_binary,
    tail,
    wait_pid_gone,
)

__all__ = ["FOLDERS", "Cyrus", "CyrusError", "unpacked_imapd"]

#: Folders every user gets, as the user sees them (besides INBOX).
FOLDERS = ("INBOX.Sent", "INBOX.Drafts", "INBOX.Trash", "INBOX.Spam", "INBOX.Archive")
CACHE = Path(os.environ.get("MAILGATE_CYRUS_CACHE", "/var/cache/mailgate/cyrus"))
_BIN = "usr/lib/cyrus/bin"


class CyrusError(RuntimeError):
    """Cyrus failed to start, stop or create a user."""


def unpacked_imapd(cache: Path = CACHE) -> Path:
    """The directory holding ``imapd`` and ``idled``, unpacking ``cyrus-imapd`` there on first use."""
    bin_dir = cache / "root" / _BIN
    if (bin_dir / "imapd").is_file() and (bin_dir / "idled").is_file():
        return bin_dir
    hint = (
        "the Cyrus fixture needs imapd from the Debian package cyrus-imapd, unpacked (not installed: "
        f"it would remove dovecot-imapd): cd {cache} && apt-get download cyrus-imapd && "
        "dpkg -x cyrus-imapd_*.deb root"
    )
    apt, dpkg = shutil.which("apt-get"), shutil.which("dpkg")
    if apt is None or dpkg is None or os.geteuid() != 0:
        raise MissingBinaryError(hint)
    cache.mkdir(parents=True, exist_ok=True)
    # apt's sandbox user must be able to write the download.
    with tempfile.TemporaryDirectory(prefix="cyrus-deb-") as work:
        os.chmod(work, 0o777)
        got = subprocess.run([apt, "download", "cyrus-imapd"], cwd=work, capture_output=True, text=True)
        debs = sorted(Path(work).glob("cyrus-imapd_*.deb"))
        if got.returncode != 0 or not debs:
            raise MissingBinaryError(f"{hint}\napt-get download failed: {got.stderr.strip()}")
        staging = Path(tempfile.mkdtemp(prefix="root-", dir=cache))
        subprocess.run([dpkg, "-x", str(debs[-1]), str(staging)], check=True, capture_output=True)
    target = cache / "root"
    if (target / _BIN / "imapd").is_file():  # another session unpacked it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    else:
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return bin_dir


def _cyrus_ids() -> tuple[int, int]:
    import grp
    import pwd

    try:
        return pwd.getpwnam("cyrus").pw_uid, grp.getgrnam("mail").gr_gid
    except KeyError as exc:
        raise MissingBinaryError(
            "user 'cyrus' does not exist: apt-get install -y cyrus-common cyrus-admin sasl2-bin"
        ) from exc


class Cyrus:
    """One Cyrus instance listening on 127.0.0.1:``port``; :meth:`fresh_user` makes accounts."""

    def __init__(self, base_dir: Path, *, port: int | None = None) -> None:
        self.cyrmaster = require_binary("cyrmaster", "cyrus-common")
        self.ctl_cyrusdb = require_binary("ctl_cyrusdb", "cyrus-common", search=["/usr/lib/cyrus/bin"])
        self.saslpasswd2 = require_binary("saslpasswd2", "sasl2-bin")
        if os.geteuid() != 0:
            raise CyrusError("the Cyrus fixture must run as root (cyrmaster switches to user cyrus)")
        self.uid, self.gid = _cyrus_ids()
        self.bin_dir = unpacked_imapd()
        self.host = LOCALHOST
        self.port = port if port is not None else free_port()
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="mailgate-cyrus-"))
        os.chmod(self.runtime_dir, 0o711)
        self.imapd_conf = self.runtime_dir / "imapd.conf"
        self.cyrus_conf = self.runtime_dir / "cyrus.conf"
        self.sasldb = self.runtime_dir / "sasldb2"
        self.pid_file = self.runtime_dir / "master.pid"
        self.out_path = self.runtime_dir / "master.out"
        self.admin_password = secrets.token_hex(12)
        self.users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False
        try:
            # config/socket: where each imapd binds the socket idled wakes it through.
            for sub in ("config", "config/socket", "spool", "proc", "lock", "socket"):
                (self.runtime_dir / sub).mkdir()
            self._write_config()
            self._set_password("cyrus", self.admin_password)
            for path in [self.runtime_dir, *self.runtime_dir.rglob("*")]:
                os.chown(path, self.uid, self.gid)
        except BaseException:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            raise

    def _write_config(self) -> None:
        d = self.runtime_dir
        # Each key once: a repeated key makes cyrmaster exit with EX_CONFIG, saying why only to syslog.
        self.imapd_conf.write_text(
            f"configdirectory: {d}/config\n"
            f"partition-default: {d}/spool\n"
            "defaultpartition: default\n"
            f"proc_path: {d}/proc\n"
            f"mboxname_lockpath: {d}/lock\n"
            f"lmtpsocket: {d}/socket/lmtp\n"
            f"idlesocket: {d}/socket/idle\n"
            f"notifysocket: {d}/socket/notify\n"
            "altnamespace: no\n"
            "unixhierarchysep: no\n"
            "admins: cyrus\n"
            "allowplaintext: yes\n"
            "sasl_pwcheck_method: auxprop\n"
            "sasl_auxprop_plugin: sasldb\n"
            f"sasl_sasldb_path: {self.sasldb}\n"
            "sasl_mech_list: PLAIN LOGIN\n"
            "syslog_prefix: mailgate-test-cyrus\n"
        )
        conf = f"-C {self.imapd_conf}"
        self.cyrus_conf.write_text(
            "START {\n"
            f'  recover cmd="{self.ctl_cyrusdb} {conf} -r"\n'
            "}\n"
            "SERVICES {\n"
            f'  imap cmd="{self.bin_dir}/imapd {conf} -U 30" listen="{self.host}:{self.port}" '
            "prefork=0 maxchild=200\n"
            "}\n"
            "EVENTS {\n"
            "}\n"
            "DAEMON {\n"
            f'  idled cmd="{self.bin_dir}/idled {conf}"\n'
            "}\n"
        )

    # --------------------------------------------------------------- lifecycle
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 15.0) -> None:
        """Start cyrmaster in the foreground and wait until the port answers ``* OK``."""
        if self.pid is not None:
            return
        with self.out_path.open("w") as out:
            self._proc = subprocess.Popen(
                [self.cyrmaster, "-C", str(self.imapd_conf), "-M", str(self.cyrus_conf), "-D",
                 "-p", str(self.pid_file)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.runtime_dir, start_new_session=True,
            )  # fmt: skip
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise CyrusError(
                    f"cyrmaster exited with {code} (78: a bad imapd.conf/cyrus.conf; details in syslog)\n"
                    f"{tail(self.out_path)}"
                )
            if read_banner(self.host, self.port).startswith(b"* OK"):
                return
            time.sleep(0.05)
        self.stop()
        raise CyrusError(f"Cyrus did not answer on {self.host}:{self.port} within {timeout}s")

    def _own_processes(self) -> set[int]:
        """Processes of this instance: each is started with ``-C <our imapd.conf>``."""
        marker = str(self.imapd_conf).encode()
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (entry / "cmdline").read_bytes() and pid_alive(int(entry.name)):
                        found.add(int(entry.name))
        return found

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM cyrmaster (it stops its children), then kill whatever of ours is left."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in self._own_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_pid_gone(pid, 2)

    def cleanup(self) -> None:
        """Stop, keep the configuration files in ``base_dir`` and remove the runtime directory."""
        try:
            self.stop()
        finally:
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False
            for path in (self.imapd_conf, self.cyrus_conf, self.out_path):
                with contextlib.suppress(OSError):
                    shutil.copy(path, self.base_dir / path.name)
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cleanup()

    def __enter__(self) -> Cyrus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # ------------------------------------------------------------------- users
    def _set_password(self, user: str, password: str) -> None:
        subprocess.run(
            [self.saslpasswd2, "-f", str(self.sasldb), "-p", "-c", user],
            input=password.encode(), check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        os.chown(self.sasldb, self.uid, self.gid)
        os.chmod(self.sasldb, 0o640)

    def add_user(self, user: str, password: str, folders: tuple[str, ...] = FOLDERS) -> None:
        """A login plus its mailbox ``user.<name>`` and ``folders`` (given as the user sees them)."""
        if "." in user or "@" in user:
            raise ValueError("Cyrus user names here are plain words (no '.' or '@')")
        self._set_password(user, password)
        client = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            client.login("cyrus", self.admin_password)
            for name in ("INBOX", *folders):
                mailbox = f"user.{user}" + name.removeprefix("INBOX")
                kind, data = client.create(mailbox)
                if kind != "OK":
                    raise CyrusError(f"CREATE {mailbox} failed: {data!r}")
        finally:
            with contextlib.suppress(Exception):
                client.logout()
        self.users[user] = password

    def fresh_user(self) -> tuple[str, str]:
        """An unused (login, password) with INBOX and ``FOLDERS``, all empty."""
        user, password = f"u{secrets.token_hex(6)}", f"pw-{secrets.token_hex(8)}"
        self.add_user(user, password)
        return user, password
