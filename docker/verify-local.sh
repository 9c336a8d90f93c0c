#!/usr/bin/env bash
# Builds docker/Dockerfile (CPU variant) without pulling any base image and runs the digits
# sweep in the container against the host's PostgreSQL. Run as root from anywhere:
#
#   sudo docker/verify-local.sh
#
# Steps: (1) a Debian bookworm root filesystem from Debian's packages (debootstrap, cached
# as $WORK/rootfs.tar), (2) imported with podman as the base image, (3) the Dockerfile built
# with BASE pointing at it, (4) `rankme-sweeper sweep` on the embedded digits in the
# container (--network=host, storage $STORAGE), (5) the trial states printed and checked:
# exit 1 unless the study holds N_TRIALS finished trials, none FAIL; (6) compose.yaml run
# with podman-compose (a stand-in postgres image built here: postgres:16 cannot be pulled),
# its study checked and the dashboard asked for it, then taken down with its volumes.
#
# Environment: WORK (/var/tmp/rankme-docker), STORAGE
# (postgresql+psycopg://postgres@127.0.0.1:5432/test), N_TRIALS (4), WORKERS (2),
# DEBIAN_MIRROR (http://deb.debian.org/debian), and the pip mirrors of this machine
# (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS; default: /opt/pypi, /opt/pypi-more
# and /opt/wheels when present, PyPI after them), which the build sees through read-only
# volumes. Podman uses its default storage driver (overlay; STORAGE_DRIVER=vfs where the
# kernel has no overlay).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/var/tmp/rankme-docker}
STORAGE=${STORAGE:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
N_TRIALS=${N_TRIALS:-4}
WORKERS=${WORKERS:-2}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=localhost/rankme-debian-rootfs:bookworm
IMAGE=localhost/rankme-sweeper:cpu
STUDY=docker-verify-$(date +%Y%m%d-%H%M%S)

[ "$(id -u)" = 0 ] || { echo "verify-local.sh: run as root (debootstrap, podman)" >&2; exit 2; }
t0=$SECONDS
step() { echo; echo "== [$((SECONDS - t0)) s] $*"; }

step "tools: debootstrap, podman"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# runc, not podman's default crun: crun 1.8 refuses this machine's hybrid cgroup v1/v2
# layout ("cgroups in hybrid mode not supported"). The limits: the container may not raise
# RLIMIT_NPROC (no CAP_SYS_RESOURCE here) and podman's defaults lie above the hard limits.
podman_args=(--runtime "${PODMAN_RUNTIME:-runc}")
[ -n "${STORAGE_DRIVER:-}" ] && podman_args+=(--storage-driver "$STORAGE_DRIVER")
nofile=$(ulimit -Hn)
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=${NPROC:-16384}:${NPROC:-16384}")
pm() { podman "${podman_args[@]}" "$@"; }

step "root filesystem: Debian bookworm minbase + python3 (debootstrap)"
mkdir -p "$WORK"
if [ ! -s "$WORK/rootfs.tar" ]; then
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$WORK/rootfs" "$DEBIAN_MIRROR"
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/rootfs.tar.part" .
  mv "$WORK/rootfs.tar.part" "$WORK/rootfs.tar"
  rm -rf "$WORK/rootfs"
else
  echo "cached: $WORK/rootfs.tar"
fi

step "base image: podman import -> $BASE_IMAGE"
pm import --change 'CMD ["/bin/bash"]' "$WORK/rootfs.tar" "$BASE_IMAGE" >/dev/null
pm image ls "$BASE_IMAGE"

step "image: podman build (VARIANT=cpu, BASE=$BASE_IMAGE) -> $IMAGE"
volumes=()
index=${PIP_INDEX_URL:-}
extra=${PIP_EXTRA_INDEX_URL:-}
links=${PIP_FIND_LINKS:-}
for d in /opt/pypi /opt/pypi-more /opt/wheels; do  # this machine's local package mirrors
  [ -d "$d" ] && volumes+=(-v "$d:$d:ro")
done
if [ -z "$index" ] && [ -d /opt/pypi/simple ]; then
  # this machine's local indexes first, PyPI after them
  index=file:///opt/pypi/simple
  [ -d /opt/pypi-more/simple ] && extra="file:///opt/pypi-more/simple $extra"
  extra="$extra https://pypi.org/simple"
fi
[ -z "$links" ] && [ -d /opt/wheels ] && links=/opt/wheels
# This machine's CA bundle (a TLS-inspecting proxy may sit between it and PyPI).
host_ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
volumes+=(-v "$host_ca:/etc/ssl/host-ca.crt:ro")
pm build --network=host "${limits[@]}" "${volumes[@]}" -f "$repo/docker/Dockerfile" -t "$IMAGE" \
  --build-arg BASE="$BASE_IMAGE" --build-arg VARIANT=cpu \
  --build-arg TORCH_INDEX_URL="${TORCH_INDEX_URL:-pip}" \
  --build-arg PIP_INDEX_URL="$index" --build-arg PIP_EXTRA_INDEX_URL="$extra" \
  --build-arg PIP_FIND_LINKS="$links" --build-arg PIP_CERT=/etc/ssl/host-ca.crt "$repo"
pm image ls "$IMAGE"
pm run --rm "${limits[@]}" "$IMAGE" --version
echo "user in the container: $(pm run --rm "${limits[@]}" --entrypoint id "$IMAGE")"

step "digits sweep in the container: study $STUDY, $N_TRIALS trials, $WORKERS workers"
rc=0
pm run --rm --network=host "${limits[@]}" "$IMAGE" sweep "sweep.study_name=$STUDY" "sweep.storage=$STORAGE" \
  "sweep.n_trials=$N_TRIALS" "sweep.workers=$WORKERS" || rc=$?
echo "sweep exit code: $rc"

step "trial states of $STUDY (read in the container)"
pm run --rm --network=host "${limits[@]}" -e STUDY="$STUDY" -e STORAGE="$STORAGE" -e N_TRIALS="$N_TRIALS" \
  --entrypoint python "$IMAGE" -c '
import collections, os, sys
import optuna
study = optuna.load_study(study_name=os.environ["STUDY"], storage=os.environ["STORAGE"])
for t in study.trials:
    print(f"trial {t.number}: {t.state.name} value={t.value} params={t.params}")
states = collections.Counter(t.state.name for t in study.trials)
print("states:", dict(states))
finished = states["COMPLETE"] + states["PRUNED"]
sys.exit(0 if finished >= int(os.environ["N_TRIALS"]) and states["COMPLETE"] > 0
         and not states["FAIL"] else 1)
' || rc=1

step "compose: docker/compose.yaml with podman-compose (postgres image built here)"
if ! command -v podman-compose >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose || true
fi
if command -v podman-compose >/dev/null; then
  # postgres:16-bookworm cannot be pulled: a stand-in with the same contract (POSTGRES_USER,
  # POSTGRES_PASSWORD, POSTGRES_DB, password auth over TCP, pg_isready) from Debian's
  # postgresql-15 on the same root filesystem.
  mkdir -p "$WORK/postgres"
  cat > "$WORK/postgres/entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw
  initdb -U "$POSTGRES_USER" --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm /tmp/pw
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
  pg_ctl -D "$PGDATA" -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
SH
  cat > "$WORK/postgres/Containerfile" <<CF
FROM $BASE_IMAGE
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/postgresql/data \
 && chown postgres:postgres /var/lib/postgresql/data && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:\$PATH PGDATA=/var/lib/postgresql/data
COPY --chmod=755 entrypoint.sh /usr/local/bin/entrypoint.sh
USER postgres
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CF
  pm build --network=host "${limits[@]}" -t localhost/rankme-postgres:15 "$WORK/postgres" \
    >"$WORK/postgres/build.log" 2>&1 || { tail "$WORK/postgres/build.log"; rc=1; }
  # This machine's limits (see above) on every service; the stand-in postgres image.
  cat > "$WORK/compose.verify.yaml" <<YAML
x-limits: &limits
  ulimits: {nofile: {soft: $nofile, hard: $nofile}, nproc: ${NPROC:-16384}}
services:
  postgres: {<<: *limits, image: "localhost/rankme-postgres:15"}
  sweep: *limits
  worker: *limits
  dashboard: *limits
YAML
  project=rankme-verify
  compose_study=docker-compose-${STUDY#docker-verify-}
  export IMAGE=$IMAGE STUDY=$compose_study N_TRIALS WORKERS DASHBOARD_PORT=${DASHBOARD_PORT:-18080}
  pc() { podman-compose --podman-args "${podman_args[*]}" -p "$project" \
           -f "$repo/docker/compose.yaml" -f "$WORK/compose.verify.yaml" "$@"; }
  pc down -v >/dev/null 2>&1 || true
  # podman-compose 1.0 ignores depends_on conditions: postgres first, until it answers.
  pc up -d --no-build postgres >/dev/null
  for _ in $(seq 60); do
    pm exec "${project}_postgres_1" pg_isready -q -U sweeper -d sweeps 2>/dev/null && break
    sleep 1
  done
  # (podman-compose 1.0 tries to create postgres again: "name already in use", in the log)
  pc up -d --no-build --no-deps sweep worker dashboard >"$WORK/compose-up.log" 2>&1 || true
  sweep_rc=$(timeout "${COMPOSE_TIMEOUT:-900}" podman "${podman_args[@]}" wait \
    "${project}_sweep_1") || sweep_rc="none (still running after ${COMPOSE_TIMEOUT:-900} s)"
  echo "compose sweep service exit code: $sweep_rc"; [ "$sweep_rc" = 0 ] || rc=1
  pm logs "${project}_sweep_1" 2>&1 | grep -E "^trial [0-9]+ (COMPLETE|PRUNED|FAIL)" || true
  for w in $(seq "$WORKERS"); do
    code=$(timeout 120 podman "${podman_args[@]}" wait "${project}_worker_$w") || code=running
    restarts=$(pm inspect --format '{{.RestartCount}}' "${project}_worker_$w")
    echo "worker $w: exit $code (restarts: $restarts)"; [ "$code" = 0 ] || rc=1
  done
  pm exec "${project}_dashboard_1" python -c '
import collections, optuna
s = optuna.load_study(study_name="'"$compose_study"'",
                      storage="postgresql+psycopg://sweeper:sweeper@postgres:5432/sweeps")
print("compose study states:", dict(collections.Counter(t.state.name for t in s.trials)))
' || rc=1
  if curl -sf "http://127.0.0.1:$DASHBOARD_PORT/api/studies" | grep -q "$compose_study"; then
    echo "optuna-dashboard on :$DASHBOARD_PORT lists $compose_study"
  else
    echo "optuna-dashboard on :$DASHBOARD_PORT does not list $compose_study"; rc=1
  fi
  pc down -v >/dev/null 2>&1 || true
else
  echo "podman-compose cannot be installed: the compose file was not run"; rc=1
fi

step "done (exit $rc)"
exit "$rc"
