"""The private PostgreSQL + PostGIS cluster gridwatch starts when no URL is set.

Layout of the cluster folder (default ``.gridwatch/pg``)::

    data/          PGDATA, owned by the user that runs the server
    run/           the server's Unix socket
    postgres.log   server log
    cluster.json   port, superuser and password (mode 0600, for the invoking user)

PostgreSQL refuses to run as root, so when gridwatch is invoked as root the
server runs as an unprivileged system user (``postgres`` by default).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from gridwatch.errors import DatabaseError, MissingDependencyError

SUPERUSER = "gridwatch"
_SERVER_OPTIONS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'256MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "max_connections": "100",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "logging_collector": "off",
    # a private single-node cluster: no replication, so bulk loads into a table
    # truncated in the same transaction skip the WAL (wal_skip_threshold)
    "wal_level": "minimal",
    "max_wal_senders": "0",
}
CONF_FILE = "gridwatch.conf"  # rewritten at every start, so option changes apply on restart


def _install_hint(major: str | None = None) -> str:
    nn = major or "NN"
    return (
        "Install them with:\n"
        f"  sudo apt-get install -y postgresql postgresql-{nn}-postgis-3\n"
        f"(NN is the PostgreSQL major version: 15 on Debian 12, 17 on Debian 13, 16 on Ubuntu 24.04),"
        " or set GRIDWATCH_DATABASE_URL to an existing PostGIS database."
    )


def find_bindir(configured: Path | None = None) -> Path:
    """Locate the folder holding initdb, pg_ctl and postgres."""
    if configured:
        if all((Path(configured) / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return Path(configured)
        raise MissingDependencyError(
            f"GRIDWATCH_DB__PG_BINDIR={configured} does not hold initdb, pg_ctl and postgres.",
            hint=_install_hint(),
        )
    candidates: list[Path] = []
    env_bindir = os.environ.get("PG_BINDIR")
    if env_bindir:
        candidates.append(Path(env_bindir))
    versioned = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates.extend(Path(p) for p in versioned)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for cand in candidates:
        if all((cand / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return cand
    raise MissingDependencyError(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found.",
        hint=_install_hint(),
    )


def server_major(bindir: Path) -> str:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[-1].split(".")[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class ClusterState:
    port: int
    password: str
    database: str
    user: str = SUPERUSER

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return (
            f"{driver}://{self.user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )


class EmbeddedCluster:
    """Create, start and stop the private cluster. Every operation is idempotent."""

    def __init__(
        self,
        root: Path,
        database: str = "gridwatch",
        run_as: str = "postgres",
        bindir: Path | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self.database = database
        self.run_as = run_as
        self._bindir = bindir

    # -- paths and state -------------------------------------------------
    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    @property
    def bindir(self) -> Path:
        if self._bindir is None or not (Path(self._bindir) / "pg_ctl").exists():
            self._bindir = find_bindir(self._bindir)
        return Path(self._bindir)

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self.state_file.exists()

    def state(self) -> ClusterState:
        if not self.state_file.exists():
            raise DatabaseError(
                f"No gridwatch database cluster at {self.root}.",
                hint="Start one with `gridwatch db up`; or, if the project's cluster lives"
                " elsewhere, run gridwatch from the project folder or set GRIDWATCH_DATA_DIR"
                " (the default .gridwatch is relative to the working directory).",
            )
        return ClusterState(**json.loads(self.state_file.read_text()))

    def _write_state(self, state: ClusterState) -> None:
        self.state_file.write_text(json.dumps(asdict(state), indent=2))
        self.state_file.chmod(0o600)

    # -- running programs as the server user -------------------------------
    def _server_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.run_as)
        except KeyError:
            raise MissingDependencyError(
                f"gridwatch runs PostgreSQL as the unprivileged user '{self.run_as}', which does"
                " not exist (PostgreSQL refuses to run as root).",
                hint=f"Create it with: useradd --system {self.run_as}  "
                "(or set GRIDWATCH_DB__RUN_AS to another unprivileged user).",
            ) from None

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._server_user()
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if user is not None:
            env["HOME"] = user.pw_dir
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            **kwargs,  # type: ignore[call-overload]
        )
        if check and proc.returncode != 0:
            raise DatabaseError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}):\n"
                f"{(proc.stderr or proc.stdout).strip()}",
                hint=f"Server log: {self.logfile}",
            )
        return proc

    def _chown(self, path: Path) -> None:
        user = self._server_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _check_reachable(self) -> None:
        """As root, make sure the server user can reach the cluster folder."""
        user = self._server_user()
        if user is None:
            return
        proc = subprocess.run(
            ["test", "-x", str(self.root)], user=user.pw_uid, group=user.pw_gid, extra_groups=[]
        )
        if proc.returncode != 0:
            raise DatabaseError(
                f"The server user '{self.run_as}' cannot enter {self.root}: a folder above it is"
                " not searchable by other users.",
                hint="Put the cluster elsewhere, e.g. GRIDWATCH_DB__CLUSTER_DIR=/var/lib/gridwatch/pg,"
                " or make the parent folders searchable (chmod o+x).",
            )

    # -- lifecycle -----------------------------------------------------------
    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        proc = self._run(
            [str(self.bindir / "pg_ctl"), "status", "-D", str(self.pgdata)], check=False
        )
        return proc.returncode == 0

    def init(self) -> None:
        """initdb with a random superuser password; writes the state file."""
        bindir = self.bindir
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self._check_reachable()
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise DatabaseError(
                f"{self.pgdata} exists but holds no complete gridwatch cluster (missing"
                f" {self.state_file.name}).",
                hint=f"Move or delete {self.root} and run gridwatch db up again.",
            )
        for d in (self.pgdata, self.socket_dir):
            d.mkdir(exist_ok=True)
            self._chown(d)
        self.pgdata.chmod(0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as fh:
            fh.write(f"\n# gridwatch's settings\ninclude_if_exists = '{CONF_FILE}'\n")
        self._write_state(ClusterState(port=free_port(), password=password, database=self.database))

    def _write_conf(self) -> None:
        options = dict(_SERVER_OPTIONS, unix_socket_directories=f"'{self.socket_dir}'")
        conf = self.pgdata / CONF_FILE
        conf.write_text("".join(f"{k} = {v}\n" for k, v in options.items()))
        self._chown(conf)

    def start(self) -> None:
        self._write_conf()
        state = self.state()
        if not port_is_free(state.port):
            state.port = free_port()
            self._write_state(state)
        self.logfile.touch(exist_ok=True)
        self._chown(self.logfile)
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "120",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-o",
                f"-p {state.port}",
            ]
        )

    def up(self) -> bool:
        """Create (first time) and start the cluster; returns False when it was already up."""
        if not self.initialised():
            self.init()
        if self.is_running():
            self.ensure_database()
            return False
        self.start()
        self.ensure_database()
        return True

    def down(self) -> bool:
        """Stop the server (fast shutdown); returns False when it was not running."""
        if not self.is_running():
            return False
        self._run([str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.pgdata)])
        return True

    def ensure_database(self, name: str | None = None) -> None:
        """Create the database (if missing) with PostGIS enabled."""
        state = self.state()
        name = name or state.database
        admin = ClusterState(port=state.port, password=state.password, database="postgres")
        with psycopg.connect(admin.url("postgresql"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        target = ClusterState(port=state.port, password=state.password, database=name)
        enable_postgis(target.url("postgresql"), major=server_major(self.bindir))

    def status(self) -> dict[str, object]:
        info: dict[str, object] = {
            "cluster_dir": str(self.root),
            "initialised": self.initialised(),
            "running": self.is_running(),
        }
        if self.state_file.exists():
            state = self.state()
            info.update(port=state.port, database=state.database, socket_dir=str(self.socket_dir))
        return info


def enable_postgis(libpq_url: str, major: str | None = None) -> None:
    """CREATE EXTENSION postgis, with the install command when it is not installed."""
    try:
        with psycopg.connect(libpq_url, autocommit=True) as conn:
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            if not available:
                if major is None:
                    row = conn.execute("SHOW server_version_num").fetchone()
                    major = str(int(row[0]) // 10000) if row else None
                raise MissingDependencyError(
                    "The PostGIS extension is not installed on this PostgreSQL server.",
                    hint=_install_hint(major),
                )
            with contextlib.suppress(psycopg.errors.UniqueViolation):
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"Cannot connect to the database: {exc}".strip()) from exc
