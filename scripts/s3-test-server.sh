#!/usr/bin/env bash
# A real S3 server for tests: a single-node Ceph cluster (1 monitor, 1 memstore OSD, 1 radosgw) on 127.0.0.1.
# For data larger than RAM (10M-row benchmarks) the OSD can be disk-backed instead: ELAX_S3_OBJECTSTORE=bluestore.
#
#   scripts/s3-test-server.sh start    install Ceph if missing, start the cluster, create user + bucket, print env
#   scripts/s3-test-server.sh stop     kill radosgw, osd, mon (by pid)
#   scripts/s3-test-server.sh status   exit 0 and print pids if running, else exit 1
#   scripts/s3-test-server.sh env      print `export KEY=value` lines (eval "$(scripts/s3-test-server.sh env)")
#   scripts/s3-test-server.sh release PID
#                                      drop user PID; stop the server if it was auto-started and no live user is left
#
# Sharing: test runs (test/global-setup.ts) call `start` with ELAX_S3_USER=<their pid> and `release <pid>` when done.
# A server started that way is stopped when its last live user releases it, so concurrent test runs never stop it
# under each other. A server started by hand (no ELAX_S3_USER) is never stopped by `release`.
#
# Why Ceph: it is the only S3 server installable here (Debian packages / npm) that honours If-None-Match and If-Match
# on PUT, which elax's coordination depends on. See shared notes "s3-test-server.md" for the measured facts.
#
# Environment overrides:
#   ELAX_S3_STATE_DIR  state directory (default $REPO/.s3-test-server; wiped on every fresh start)
#   ELAX_S3_PORT       radosgw HTTP port (default 7480)
#   ELAX_S3_MON_PORT   monitor port (default 6789)
#   ELAX_S3_MEMSTORE_BYTES  the OSD's in-memory store size (default 4294967296: 4 GiB, enough for the tests;
#                           a 10M-row benchmark namespace needs more, and the machine's RAM must hold it)
#   ELAX_S3_OBJECTSTORE  memstore (default) or bluestore: the OSD on a sparse file $STATE/block, so a benchmark
#                        can hold more than RAM. Use it on its own port and state dir, e.g.
#                        ELAX_S3_OBJECTSTORE=bluestore ELAX_S3_PORT=7490 ELAX_S3_MON_PORT=6790 ELAX_S3_STATE_DIR=/tmp/s3-big
#   ELAX_S3_DEVICE_BYTES   bluestore's device file size (default 25769803776: 24 GiB; sparse, the disk holds only
#                          what is written; start checks that the file system has that much free)
#   ELAX_S3_OSD_MEMORY_BYTES  bluestore's osd_memory_target (default 1073741824: 1 GiB, so it fits beside the rest;
#                             the OSD's RSS settles near it, its cache is what is left of it)
#
# stdout carries only the env lines (start/env) so callers can parse it; progress goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${ELAX_S3_STATE_DIR:-$REPO/.s3-test-server}"
PORT="${ELAX_S3_PORT:-7480}"
MON_PORT="${ELAX_S3_MON_PORT:-6789}"
MEMSTORE_BYTES="${ELAX_S3_MEMSTORE_BYTES:-4294967296}"
OBJECTSTORE="${ELAX_S3_OBJECTSTORE:-memstore}"
DEVICE_BYTES="${ELAX_S3_DEVICE_BYTES:-25769803776}"
OSD_MEMORY_BYTES="${ELAX_S3_OSD_MEMORY_BYTES:-1073741824}"
CONF="$STATE/ceph.conf"
BUCKET="elax-test"
REGION="us-east-1"
# Fixed, test-only credentials for a server bound to loopback. Not secrets.
ACCESS_KEY="ELAXTESTACCESSKEY000"
SECRET_KEY="elaxTestSecretKey0000000000000000000000"
ENDPOINT="http://127.0.0.1:$PORT"
DAEMONS=(radosgw osd mon) # stop order

log() { printf '[s3-test-server] %s\n' "$*" >&2; }
STARTING=0
die() {
  log "ERROR: $*"
  # A failed start must not leave half a cluster behind (it would hold the ports).
  if [[ $STARTING == 1 ]]; then stop_daemons; fi
  exit 1
}
now_ms() { date +%s%3N; }
T0="$(now_ms)"
elapsed() { echo "$(( $(now_ms) - T0 )) ms"; }

# A process exists and is not a zombie (an exited daemon stays in /proc until its new parent reaps it).
alive() { [[ -r "/proc/$1/stat" ]] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

# The binary each pid file must belong to, so we never signal a recycled pid.
binary_of() { case "$1" in radosgw) echo radosgw ;; osd) echo ceph-osd ;; mon) echo ceph-mon ;; esac; }

# pid of a daemon if it is alive and really is that daemon, else empty.
live_pid() {
  local f="$STATE/pids/$1" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  [[ -n "$pid" ]] && alive "$pid" || return 0
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$(binary_of "$1")"* ]] && echo "$pid"
  return 0
}

print_env() {
  [[ -f "$STATE/env" ]] || die "no env file at $STATE/env: is the server started?"
  sed 's/^/export /' "$STATE/env"
}

is_running() {
  local d
  for d in "${DAEMONS[@]}"; do [[ -n "$(live_pid "$d")" ]] || return 1; done
  [[ -f "$STATE/env" ]]
}

stop_daemons() {
  # Signal all at once, wait briefly, then kill: the data lives in memory and is wiped on start anyway, so there
  # is no reason to wait for clean shutdowns (each daemon takes about a second).
  local d pid i pids=() names=()
  for d in "${DAEMONS[@]}"; do
    pid="$(live_pid "$d")"
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("$d")
  done
  for i in $(seq 1 6); do
    local alive=0
    for pid in "${pids[@]}"; do alive "$pid" && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.05
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then kill -KILL "${pids[$i]}" 2>/dev/null || true; fi
  done
  # Wait until they are really gone, so their ports are free for an immediate restart.
  for pid in "${pids[@]}"; do
    for i in $(seq 1 100); do alive "$pid" || break; sleep 0.02; done
  done
  for i in "${!pids[@]}"; do log "stopped ${names[$i]} (pid ${pids[$i]})"; done
  rm -f "$STATE"/pids/* 2>/dev/null || true
}

ensure_installed() {
  local missing=() b
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ "$(id -u)" == 0 ]] || die "missing ${missing[*]}; run as root or: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw"
  log "installing Ceph (missing: ${missing[*]}) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2
  for b in "${missing[@]}"; do command -v "$b" >/dev/null 2>&1 || die "$b still missing after apt-get install"; done
  log "installed Ceph after $(elapsed)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# until_ok SECONDS DESCRIPTION DAEMON COMMAND...: poll COMMAND until it succeeds; fail when DAEMON (a name in pids/,
# or '-') has exited or SECONDS of wall time have passed. Returns 2 (without dying) if the daemon exited, so the
# caller can restart it.
until_ok() {
  local secs="$1" what="$2" daemon="$3" end=$((SECONDS + $1)); shift 3
  while ((SECONDS < end)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ "$daemon" != - && -z "$(live_pid "$daemon")" ]]; then return 2; fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $what (logs: $STATE/log)"
}

osd_up() { "${CEPH[@]}" osd stat 2>/dev/null | grep -q ' 1 up'; }
rgw_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Run a daemon in the foreground of its own session, detached from our stdio (so callers that wait for our
# stdout to close, like execFile, return), and record its pid.
spawn() {
  local name="$1"; shift
  # 9>&- : the daemon must not inherit the start lock, or it would hold it for its whole life.
  setsid "$@" -f </dev/null >>"$STATE/log/$name.out" 2>&1 9>&- &
  echo $! >"$STATE/pids/$name"
}

# The [osd] lines of the chosen object store (after `osd objectstore` and `osd data`, where memstore's always were).
# bluestore: one sparse file holds data, RocksDB and its WAL (created by --mkfs; not inside osd data, where mkfs puts
# a symlink named block to it).
osd_store_conf() {
  case "$OBJECTSTORE" in
    memstore) echo "memstore device bytes = $MEMSTORE_BYTES" ;;
    bluestore)
      printf '%s\n' "bluestore block path = $STATE/block" 'bluestore block create = true' \
        "bluestore block size = $DEVICE_BYTES" "osd memory target = $OSD_MEMORY_BYTES"
      ;;
    *) die "ELAX_S3_OBJECTSTORE must be memstore or bluestore, got '$OBJECTSTORE'" ;;
  esac
}

write_conf() {
  local fsid="$1"
  # A bare ip:port means msgr v1 on 6789 but v2 on any other port, and over v2 radosgw never authenticates with
  # auth none (get_initial_auth_request returned -13, measured on 6790). So another port is v1 too, in both the
  # monmap (start) and here.
  local MON_HOST="127.0.0.1:$MON_PORT"
  [[ "$MON_PORT" == 6789 ]] || MON_HOST="[v1:127.0.0.1:$MON_PORT]"
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = $MON_HOST
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
run dir = $STATE/run
log file = $STATE/log/\$name.log
admin socket = $STATE/run/\$name.asok
ms bind ipv4 = true
ms bind ipv6 = false
[mon]
mon data = $STATE/mon
# Commit map changes at once instead of batching for 1 s: pool creation and OSD boot are chains of map updates.
paxos propose interval = 0.05
mon warn on pool no redundancy = false
[osd]
osd objectstore = $OBJECTSTORE
osd data = $STATE/osd0
$(osd_store_conf)
osd max object name len = 460
osd max object namespace len = 64
# The script puts the OSD into the CRUSH map itself. Left on, the OSD's own update at boot races its first monmap
# with auth off ('wrong fsid') and the OSD exits now and then.
osd crush update on start = false
osd class update on start = false
[client.rgw.a]
rgw data = $STATE/rgw
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw dns name = localhost
EOF
}

# S3 steps through the project's own SDK (node_modules), so the check is the one elax depends on:
# create the bucket (retried: RGW creates its pools on first use) and prove If-None-Match:* is enforced.
s3_bootstrap() {
  (cd "$REPO" && ELAX_BOOT_ENDPOINT="$ENDPOINT" ELAX_BOOT_BUCKET="$BUCKET" AWS_ACCESS_KEY_ID="$ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY="$SECRET_KEY" AWS_REGION="$REGION" node --no-warnings --input-type=module -e '
import { S3Client, CreateBucketCommand, PutObjectCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
const s3 = new S3Client({ endpoint: process.env.ELAX_BOOT_ENDPOINT, forcePathStyle: true, region: process.env.AWS_REGION,
  requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
const Bucket = process.env.ELAX_BOOT_BUCKET;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + 60_000;
for (;;) {
  try { await s3.send(new CreateBucketCommand({ Bucket })); break; }
  catch (e) {
    if (e.name === "BucketAlreadyOwnedByYou" || e.name === "BucketAlreadyExists") break;
    if (Date.now() > deadline) throw e;
    await sleep(250);
  }
}
const Key = "_elax/boot-probe";
await s3.send(new DeleteObjectCommand({ Bucket, Key }));
await s3.send(new PutObjectCommand({ Bucket, Key, Body: "a", IfNoneMatch: "*" }));
let second = "accepted";
try { await s3.send(new PutObjectCommand({ Bucket, Key, Body: "b", IfNoneMatch: "*" })); }
catch (e) { second = String(e.$metadata?.httpStatusCode ?? e.name); }
await s3.send(new DeleteObjectCommand({ Bucket, Key }));
if (second !== "412") { console.error("conditional PUT not enforced: second If-None-Match:* write -> " + second); process.exit(1); }
')
}

start() {
  [[ "$OBJECTSTORE" == memstore || "$OBJECTSTORE" == bluestore ]] ||
    die "ELAX_S3_OBJECTSTORE must be memstore or bluestore, got '$OBJECTSTORE'"
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9 # one start/stop at a time per state dir
  if is_running; then
    log "already running ($ENDPOINT)"
    if [[ -n "${ELAX_S3_USER:-}" ]]; then register_user "$ELAX_S3_USER"; else rm -f "$STATE/auto-stop"; fi
    print_env
    return 0
  fi
  stop_daemons # leftovers of a half-started or crashed cluster
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  mkdir -p "$STATE"/{run,log,pids,mon,osd0,rgw}
  ensure_installed
  port_free "$PORT" || die "port $PORT is in use (set ELAX_S3_PORT)"
  port_free "$MON_PORT" || die "monitor port $MON_PORT is in use (set ELAX_S3_MON_PORT)"
  if [[ "$OBJECTSTORE" == bluestore ]]; then
    local free_bytes
    free_bytes="$(df -B1 --output=avail "$STATE" | tail -1)"
    ((free_bytes > DEVICE_BYTES)) || die "bluestore needs ELAX_S3_DEVICE_BYTES=$DEVICE_BYTES free under $STATE, only $free_bytes there"
  fi

  local fsid osd_uuid osd_id
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid"
  CEPH=(ceph -c "$CONF" --connect-timeout 5)
  STARTING=1

  if [[ "$MON_PORT" == 6789 ]]; then
    monmaptool --create --add a "127.0.0.1:$MON_PORT" --fsid "$fsid" "$STATE/monmap" >/dev/null
  else # msgr v1 only, as on 6789 (see write_conf)
    monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$STATE/monmap" >/dev/null
  fi
  ceph-mon --mkfs -i a --monmap "$STATE/monmap" -c "$CONF" >>"$STATE/log/mkfs.out" 2>&1 || die "ceph-mon --mkfs failed (see $STATE/log/mkfs.out)"
  spawn mon ceph-mon -i a -c "$CONF"
  until_ok 30 "the monitor" mon "${CEPH[@]}" -s || die "the monitor exited (logs: $STATE/log)"
  log "monitor up after $(elapsed)"

  osd_id="$("${CEPH[@]}" osd create "$osd_uuid")" || die "ceph osd create failed"
  ceph-osd -i "$osd_id" --mkfs -c "$CONF" --osd-uuid "$osd_uuid" >>"$STATE/log/mkfs.out" 2>&1 || die "ceph-osd --mkfs failed (see $STATE/log/mkfs.out)"
  # The monitor sometimes refuses this right after `osd create` (seen on clean CI runs): retry briefly.
  local crush_try=0
  until "${CEPH[@]}" osd crush add "osd.$osd_id" 1.0 host=localhost root=default >>"$STATE/log/crush.out" 2>&1; do
    crush_try=$((crush_try + 1))
    [[ $crush_try -ge 15 ]] && die "ceph osd crush add failed (see $STATE/log/crush.out)"
    sleep 1
  done
  local attempt rc
  for attempt in 1 2 3; do
    spawn osd ceph-osd -i "$osd_id" -c "$CONF"
    rc=0
    until_ok 60 "the osd" osd osd_up || rc=$?
    [[ $rc == 0 ]] && break
    [[ $attempt == 3 ]] && die "the osd exited three times (logs: $STATE/log)"
    log "the osd exited during start-up; restarting it"
  done
  log "osd up after $(elapsed)"

  spawn radosgw radosgw -n client.rgw.a -c "$CONF"
  until_ok 60 "radosgw on port $PORT" radosgw rgw_listening || die "radosgw exited (logs: $STATE/log)"
  log "radosgw listening after $(elapsed)"

  radosgw-admin -c "$CONF" user create --uid=elax-test --display-name=elax-test \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >>"$STATE/log/admin.out" 2>&1 ||
    die "radosgw-admin user create failed (see $STATE/log/admin.out)"
  s3_bootstrap || die "bucket creation or conditional-PUT check failed (logs: $STATE/log)"

  cat >"$STATE/env.tmp" <<EOF
ELAX_TEST_S3_ENDPOINT=$ENDPOINT
ELAX_TEST_S3_BUCKET=$BUCKET
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=$REGION
EOF
  mv "$STATE/env.tmp" "$STATE/env"
  if [[ -n "${ELAX_S3_USER:-}" ]]; then
    touch "$STATE/auto-stop"
    register_user "$ELAX_S3_USER"
  fi
  STARTING=0
  log "ready at $ENDPOINT (bucket $BUCKET) after $(elapsed)"
  print_env
}

stop() {
  [[ -d "$STATE" ]] || { log "not running"; return 0; }
  exec 9>"$STATE/.lock"
  flock 9
  stop_daemons
  rm -f "$STATE/env" "$STATE/auto-stop"
  rm -rf "$STATE/users"
  log "stopped after $(elapsed)"
}

register_user() {
  [[ "$1" =~ ^[0-9]+$ ]] || die "ELAX_S3_USER must be a pid, got '$1'"
  mkdir -p "$STATE/users"
  : >"$STATE/users/$1"
}

release() {
  local pid="${1:-}" f n=0
  [[ "$pid" =~ ^[0-9]+$ ]] || die "usage: $0 release PID"
  [[ -d "$STATE" ]] || return 0
  exec 9>"$STATE/.lock"
  flock 9
  rm -f "$STATE/users/$pid"
  for f in "$STATE"/users/*; do
    [[ -e "$f" ]] || continue
    if [[ -d "/proc/$(basename "$f")" ]]; then n=$((n + 1)); else rm -f "$f"; fi # drop users that died
  done
  if [[ $n -gt 0 ]]; then
    log "still in use by $n other test run(s): leaving it running"
  elif [[ -f "$STATE/auto-stop" ]]; then
    stop_daemons
    rm -f "$STATE/env" "$STATE/auto-stop"
    log "stopped (last user released it) after $(elapsed)"
  else
    log "started by hand: leaving it running (stop it with: $0 stop)"
  fi
}

status() {
  if is_running; then
    log "running at $(grep ENDPOINT "$STATE/env" | cut -d= -f2): radosgw $(live_pid radosgw), osd $(live_pid osd), mon $(live_pid mon)"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) is_running || die "not running (start it with: $0 start)"; print_env ;;
  release) release "${2:-}" ;;
  *) echo "usage: $0 start|stop|status|env|release PID" >&2; exit 2 ;;
esac
