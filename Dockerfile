# syntax=docker/dockerfile:1
#
# One image for every EROS component: the entrypoint is the `eros` command and
# the Helm chart picks the subcommand (`api`, `migrate`, `scheduler`,
# `operator`; the operator starts `worker --phase N` pods from the same image).
#
#   docker build -t eros:dev .
#   docker run --rm eros:dev --help
#
# The base is pinned to a patch release and a Debian release so rebuilds are
# reproducible; pin the digest too (`python:3.11.13-slim-bookworm@sha256:...`)
# in a registry-mirrored CI and let Renovate or Dependabot bump it.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

###############################################################################
# builder: turns the project and every dependency into wheels, then installs
# them into a self-contained virtualenv that the runtime stage copies whole.
###############################################################################
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# Only what `pip wheel .` needs; .dockerignore keeps tests, charts and local
# state out of the build context.
COPY pyproject.toml README.md ./
COPY core ./core
COPY pipeline ./pipeline
COPY api ./api
COPY worker ./worker
COPY operator ./operator
COPY cli ./cli
COPY simulate ./simulate

# Every dependency ships manylinux wheels for CPython 3.11, so no compiler is
# needed; the cache mount keeps downloads between builds without baking them
# into a layer. `.` without extras: the `embedded` servers (used by `eros dev`)
# and the `dev` tools never go into the image. `-P`: WORKDIR /src holds the
# project's `operator/` folder, which would otherwise shadow the standard
# library's `operator` module and break `venv` itself.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels . \
 && python -P -m venv /opt/eros \
 && /opt/eros/bin/pip install --no-index --find-links /wheels eros \
 && /opt/eros/bin/pip uninstall --yes pip setuptools

###############################################################################
# runtime: the interpreter, the virtualenv and nothing else.
###############################################################################
FROM ${PYTHON_IMAGE} AS runtime

# Drop the base image's packaging tools: nothing is installed at run time.
# The user has a fixed numeric uid/gid (10001) so Kubernetes can check
# runAsNonRoot without resolving names; the chart's securityContext uses it too.
RUN python -m pip uninstall --yes pip setuptools wheel \
 && groupadd --system --gid 10001 eros \
 && useradd --system --uid 10001 --gid 10001 \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin eros

COPY --from=builder /opt/eros /opt/eros

# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in the cluster and
# pip already compiled the bytecode at install time.
# EROS_ENVIRONMENT=production: a container that forgets its settings refuses
# the development JWT secret instead of running with it.
ENV PATH=/opt/eros/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EROS_ENVIRONMENT=production

LABEL org.opencontainers.image.title="eros" \
      org.opencontainers.image.description="EROS: idle-time processing backend (API, scheduler, workers, operator)" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
WORKDIR /tmp

# The API's port; the scheduler serves metrics on 9100 and the operator its
# health endpoint on 8080 and metrics on 9090.
EXPOSE 8000

ENTRYPOINT ["eros"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
