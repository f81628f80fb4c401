"""Build the Dockerfile here and run the image against real servers.

No container registry is reachable on these machines, so the Dockerfile's base
(`PYTHON_IMAGE`) is replaced by a stand-in: a Debian bookworm rootfs made with
debootstrap (its python3 is 3.11), imported under the `FROM` name and cached
between runs. docs/image.md says what this proves and what it does not.

    python -P scripts/build_image.py            # build, then run the checks
    python -P scripts/build_image.py --skip-run # build only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("build_image")

ROOT = Path(__file__).resolve().parent.parent
TAG = "localhost/eros:dev"
UID = 10001
TOOLS = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
# Root here lacks CAP_SYS_RESOURCE, and runc fails to set an rlimit even to the
# value it already has; lowering is always allowed, so the containers get
# explicit limits below this host's (podman otherwise raises nofile and nproc).
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


@dataclass(frozen=True)
class Figures:
    base_seconds: float
    build_seconds: float
    size_bytes: int


def base_image_name(dockerfile: Path = ROOT / "Dockerfile") -> str:
    """The `FROM` base, read from the Dockerfile's ARG (its one owner)."""
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit("The Dockerfile has no `ARG PYTHON_IMAGE=...` line.")
    return match.group(1)


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    logger.info("Running %s.", " ".join(argv))
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def engine_env(work: Path) -> dict[str, str]:
    conf = work / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(f"Missing {', '.join(missing)}; install them (root and apt-get needed).")
    logger.info("Installing %s from Debian's packages with apt-get.", ", ".join(missing))
    run("apt-get", "update", "-qq")
    run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        *missing,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def host_ca_bundle() -> Path:
    """The bundle pip trusts on the host: PIP_CERT if set, else OpenSSL's default."""
    configured = os.environ.get("PIP_CERT") or ssl.get_default_verify_paths().cafile
    if not configured or not Path(configured).is_file():
        raise SystemExit("No CA bundle found on the host for pip inside the build.")
    return Path(configured)


def image_exists(name: str, env: dict[str, str]) -> bool:
    return subprocess.run(["podman", "image", "exists", name], env=env).returncode == 0


def build_base(name: str, work: Path, env: dict[str, str]) -> float:
    """Make the stand-in base unless it is cached; return the seconds spent."""
    if image_exists(name, env):
        logger.info("The stand-in base %s exists; reusing it.", name)
        return 0.0
    started = time.monotonic()
    rootfs = work / "rootfs"
    logger.info("Making the stand-in base %s with debootstrap (Debian bookworm).", name)
    run(
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-venv,python-is-python3,python3-pip-whl,python3-setuptools-whl,ca-certificates",
        "bookworm",
        str(rootfs),
        "http://deb.debian.org/debian",
    )
    # python:slim has pip and no EXTERNALLY-MANAGED marker; Debian disables
    # ensurepip, so pip comes from Debian's bundled wheels.
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    wheels = [
        f"/usr/share/python-wheels/{w.name}"
        for w in (rootfs / "usr/share/python-wheels").glob("*.whl")
    ]
    pip_wheel = next(w for w in wheels if "/pip-" in w)
    # pip runs from its own wheel (zipimport) to install itself and setuptools.
    chosen = [w for w in wheels if "/pip-" in w or "/setuptools-" in w]
    run(
        "chroot",
        str(rootfs),
        "python3",
        f"{pip_wheel}/pip",
        "install",
        "--no-index",
        "--no-cache-dir",
        *chosen,
    )
    # The host's authorities, so pip in the build reaches what pip on the host
    # reaches; this lives in the stand-in base only, never in the Dockerfile.
    ca = rootfs / "usr/local/share/standin-ca.pem"
    shutil.copyfile(host_ca_bundle(), ca)
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(
        [
            "podman",
            "import",
            "--change",
            "ENV PIP_CERT=/usr/local/share/standin-ca.pem",
            "--change",
            'CMD ["python3"]',
            "-",
            name,
        ],
        stdin=tar.stdout,
        check=True,
        env=env,
        capture_output=True,
    )
    tar.wait()
    shutil.rmtree(rootfs)
    return time.monotonic() - started


def build_image(env: dict[str, str]) -> float:
    started = time.monotonic()
    run("podman", "build", "--network", "host", "--tag", TAG, str(ROOT), env=env)
    return time.monotonic() - started


def image_size(env: dict[str, str]) -> int:
    return int(json.loads(run("podman", "image", "inspect", TAG, env=env))[0]["Size"])


def in_container(*argv: str, env: dict[str, str], entrypoint: str | None = None) -> str:
    extra = ["--entrypoint", entrypoint] if entrypoint else []
    return run("podman", "run", "--rm", "--network", "host", *extra, TAG, *argv, env=env)


def check_user_and_tools(env: dict[str, str]) -> None:
    tools = "('gcc', 'cc', 'pip', 'pip3')"
    script = f"import os, shutil; print(os.getuid(), [t for t in {tools} if shutil.which(t)])"
    out = in_container("-c", script, env=env, entrypoint="python").strip()
    if out != f"{UID} []":
        raise SystemExit(f"The container should run as {UID} with no compilers or pip: {out}.")
    logger.info("The container runs as uid %d and carries no compilers or pip.", UID)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_api(env: dict[str, str], work: Path) -> int:
    """Serve `eros api` from the container against embedded servers; return the health status."""
    sys.path.insert(0, str(ROOT))
    from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey

    valkey = EmbeddedValkey(work / "valkey", port=free_port())
    postgres = EmbeddedPostgres(work / "postgres", delete_on_stop=True)
    valkey.start()
    postgres.start()
    port = free_port()
    # The embedded PostgreSQL listens on a Unix socket in a directory only its
    # own user may enter: the socket alone is mounted where uid 10001 reaches it.
    socket_path = next(postgres.data_dir.glob(".s.PGSQL.*"))
    database_url = postgres.url.split("?host=")[0] + "?host=/run/eros-pg"
    settings = [
        "-v", f"{socket_path}:/run/eros-pg/{socket_path.name}",
        "-e", f"EROS_REDIS_URL={valkey.url}",
        "-e", f"EROS_DATABASE_URL={database_url}",
        "-e", "EROS_JWT_SECRET=" + "s" * 48,
    ]  # fmt: skip
    name = f"eros-api-{port}"
    try:
        run("podman", "run", "--rm", "--network", "host", *settings, TAG, "migrate", env=env)
        run(
            "podman",
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            *settings,
            TAG,
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=2
                ) as r:
                    logger.info("GET /api/v1/health answered %d.", r.status)
                    return int(r.status)
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        "`eros api` in the container never answered /api/v1/health."
                    ) from None
                time.sleep(0.5)
    finally:
        subprocess.run(["podman", "rm", "-f", name], env=env, capture_output=True)
        postgres.stop()
        valkey.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-run", action="store_true", help="build only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ensure_tools()
    with tempfile.TemporaryDirectory(prefix="eros-image-") as tmp:
        work = Path(tmp)
        env = engine_env(work)
        base_seconds = build_base(base_image_name(), work, env)
        figures = Figures(base_seconds, build_image(env), 0)
        figures = Figures(figures.base_seconds, figures.build_seconds, image_size(env))
        logger.info(
            "Stand-in base: %.1f s; image build: %.1f s; image size: %.1f MB.",
            figures.base_seconds,
            figures.build_seconds,
            figures.size_bytes / 1e6,
        )
        if not args.skip_run:
            logger.info("`eros --help` in the container:\n%s", in_container("--help", env=env))
            check_user_and_tools(env)
            check_api(env, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
