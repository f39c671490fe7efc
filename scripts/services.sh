#!/usr/bin/env bash
# Local Postgres, Redis, a Redis Cluster and ClickHouse for integration tests and development.
#
#   scripts/services.sh                 install if missing, start all, wait, print the env to export
#   scripts/services.sh stop            stop the ClickHouse cluster, ClickHouse, the Redis Cluster, Redis and Postgres
#   scripts/services.sh start-one NAME  start one of postgres|redis|redis-cluster|clickhouse|clickhouse-cluster,
#                                       wait until it answers (clickhouse-cluster is not part of start: see below)
#   scripts/services.sh stop-one NAME   stop one and wait until it is gone
#   scripts/services.sh status          say which ones answer
#
# Every command is idempotent. Environment knobs: SERVICES_TIMEOUT (seconds to wait, default 60),
# PG_VERSION (default: the existing cluster, else the newest installed), TOLLGATE_SERVICES_DIR
# (pid and log files, default /tmp/tollgate-services), REDIS_CLUSTER_PORT (the first of the Redis
# Cluster's six ports: three masters, then their three replicas; default 7001).
# start-one redis-cluster also restarts a node that was killed: it rejoins as a replica.
# clickhouse-cluster: ZooKeeper (Debian's zookeeper package) and two ClickHouse servers replicating one
# shard as cluster "tollgate" (HTTP on 8124 and 8125). start-one clickhouse-cluster also restarts a
# replica that was stopped.
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"

TIMEOUT="${SERVICES_TIMEOUT:-60}"
STATE_DIR="${TOLLGATE_SERVICES_DIR:-/tmp/tollgate-services}"
PG_CLUSTER=main
PG_PORT=5432
PG_DATABASE=tollgate_test
REDIS_PORT=6379
REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7001}"
# A node unreachable this long is failed over to its replica (the default 15 s would stall tests).
REDIS_CLUSTER_NODE_TIMEOUT_MS=1000
CLICKHOUSE_CONFIG=/etc/clickhouse-server/config.xml
CLICKHOUSE_HTTP=http://127.0.0.1:8123
CLICKHOUSE_PID="$STATE_DIR/clickhouse.pid"
CLICKHOUSE_LOG=/var/log/clickhouse-server/clickhouse-server.err.log
ZOOKEEPER_PORT=2181
CLICKHOUSE_CLUSTER_NAME=tollgate
# Replica n (1, 2): HTTP 8123+n, native 9100+n, replication 9110+n.
CLICKHOUSE_REPLICAS=(1 2)

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

if [[ $EUID -eq 0 ]]; then
  as_root() { "$@"; }
  as_postgres() { runuser -u postgres -- "$@"; }
else
  command -v sudo >/dev/null || die "run as root, or install sudo"
  as_root() { sudo "$@"; }
  as_postgres() { sudo -u postgres "$@"; }
fi

# --- install -------------------------------------------------------------------------------------

install_if_missing() {
  local missing=()
  local bin
  for bin in pg_ctlcluster pg_isready psql redis-server redis-cli clickhouse-server clickhouse-client curl; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return
  fi
  log "missing ${missing[*]}: installing with apt-get"
  local packages=(postgresql redis-server clickhouse-server clickhouse-client)
  command -v curl >/dev/null || packages+=(curl)
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
  for bin in "${missing[@]}"; do
    command -v "$bin" >/dev/null || die "$bin is still missing after apt-get install"
  done
}

# --- waiting -------------------------------------------------------------------------------------

# wait_until NAME HINT COMMAND...: retry COMMAND until it succeeds or TIMEOUT seconds pass.
wait_until() {
  local name="$1" hint="$2"
  shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$name did not become ready within ${TIMEOUT}s ($hint)"
    fi
    sleep 0.5
  done
}

wait_while() {
  local name="$1"
  shift
  local deadline=$((SECONDS + TIMEOUT))
  while "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$name did not stop within ${TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# --- postgres ------------------------------------------------------------------------------------

pg_version() {
  if [[ -n "${PG_VERSION:-}" ]]; then
    echo "$PG_VERSION"
    return
  fi
  local existing
  existing="$(pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" '$2 == c { print $1; exit }')"
  if [[ -n "$existing" ]]; then
    echo "$existing"
    return
  fi
  # shellcheck disable=SC2012 # version directories are plain numbers
  ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgres() {
  local version
  version="$(pg_version)"
  [[ -n "$version" ]] || die "postgres: no server installed under /usr/lib/postgresql"
  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$PG_CLUSTER" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
    log "postgres: creating cluster $version/$PG_CLUSTER"
    as_root pg_createcluster --port "$PG_PORT" "$version" "$PG_CLUSTER"
  fi
  if as_root pg_ctlcluster "$version" "$PG_CLUSTER" status >/dev/null 2>&1; then
    log "postgres $version: already running"
  else
    log "postgres $version: starting"
    as_root pg_ctlcluster "$version" "$PG_CLUSTER" start ||
      die "postgres failed to start; see /var/log/postgresql/postgresql-$version-$PG_CLUSTER.log"
  fi
  wait_until postgres "pg_isready -h 127.0.0.1 -p $PG_PORT; log: /var/log/postgresql/postgresql-$version-$PG_CLUSTER.log" postgres_ready

  as_postgres psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null ||
    die "postgres: could not set the postgres user's password"
  if [[ "$(as_postgres psql -qAt -p "$PG_PORT" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
    log "postgres: creating database $PG_DATABASE"
    as_postgres createdb -p "$PG_PORT" "$PG_DATABASE" || die "postgres: could not create database $PG_DATABASE"
  fi
}

stop_postgres() {
  local version
  version="$(pg_version)"
  if [[ -n "$version" ]] && as_root pg_ctlcluster "$version" "$PG_CLUSTER" status >/dev/null 2>&1; then
    log "postgres $version: stopping"
    # fast: disconnect clients and stop now, as a crash or failover would look to the gateway
    as_root pg_ctlcluster "$version" "$PG_CLUSTER" stop -m fast
  else
    log "postgres: not running"
  fi
  wait_while postgres postgres_ready
}

# --- redis ---------------------------------------------------------------------------------------

redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  if redis_ready; then
    log "redis: already running"
    return
  fi
  log "redis: starting"
  as_root mkdir -p "$STATE_DIR"
  as_root redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$STATE_DIR" --pidfile "$STATE_DIR/redis.pid" --logfile "$STATE_DIR/redis.log" ||
    die "redis failed to start; see $STATE_DIR/redis.log"
  wait_until redis "redis-cli -p $REDIS_PORT ping; log: $STATE_DIR/redis.log" redis_ready
}

stop_redis() {
  if redis_ready; then
    log "redis: stopping"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  else
    log "redis: not running"
  fi
  wait_while redis redis_ready
}

# --- redis cluster -------------------------------------------------------------------------------

redis_cluster_ports() { seq "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + 5)); }

redis_cluster_dir() { echo "$STATE_DIR/redis-cluster/$1"; }

redis_node_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

# Every node answers, sees all six, and serves all 16384 slots.
redis_cluster_ready() {
  local port info
  for port in $(redis_cluster_ports); do
    info="$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null)" || return 1
    grep -q '^cluster_state:ok' <<<"$info" || return 1
    grep -q '^cluster_slots_ok:16384' <<<"$info" || return 1
    grep -q '^cluster_known_nodes:6' <<<"$info" || return 1
  done
  # A restarted node is ready once it replicates again.
  for port in $(redis_cluster_ports); do
    info="$(redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null)" || return 1
    if grep -q '^role:slave' <<<"$info"; then grep -q '^master_link_status:up' <<<"$info" || return 1; fi
  done
}

start_redis_cluster() {
  if redis_cluster_ready; then
    log "redis cluster ($REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + 5))): already running"
    return
  fi
  local port dir
  for port in $(redis_cluster_ports); do
    redis_node_ready "$port" && continue
    dir="$(redis_cluster_dir "$port")"
    log "redis cluster: starting node $port"
    as_root mkdir -p "$dir"
    # nodes.conf in its own directory lets a killed node rejoin with its identity.
    as_root redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$REDIS_CLUSTER_NODE_TIMEOUT_MS" \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
      die "redis cluster node $port failed to start; see $dir/redis.log"
    wait_until "redis cluster node $port" "log: $dir/redis.log" redis_node_ready "$port"
  done
  if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_CLUSTER_PORT" cluster info | tr -d '\r' | awk -F: '$1 == "cluster_slots_assigned" { print $2 }')" == 0 ]]; then
    log "redis cluster: creating three masters with a replica each"
    local nodes=()
    for port in $(redis_cluster_ports); do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$STATE_DIR/redis-cluster/create.log" 2>&1 ||
      die "redis-cli --cluster create failed; see $STATE_DIR/redis-cluster/create.log"
  fi
  wait_until "redis cluster" "redis-cli -p $REDIS_CLUSTER_PORT cluster info; logs: $STATE_DIR/redis-cluster/*/redis.log" redis_cluster_ready
}

stop_redis_cluster() {
  local port
  for port in $(redis_cluster_ports); do
    if redis_node_ready "$port"; then
      log "redis cluster: stopping node $port"
      redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    wait_while "redis cluster node $port" redis_node_ready "$port"
    # The next start makes a new cluster.
    as_root rm -rf "$(redis_cluster_dir "$port")"
  done
}

# --- clickhouse ----------------------------------------------------------------------------------

clickhouse_ready() { [[ "$(curl -fsS --max-time 2 "$CLICKHOUSE_HTTP/ping" 2>/dev/null)" == Ok.* ]]; }

clickhouse_pid() {
  local pid
  pid="$(as_root cat "$CLICKHOUSE_PID" 2>/dev/null || true)"
  # A pid left by a killed server may since belong to another process.
  if [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == clickhouse* ]]; then
    echo "$pid"
  fi
}

start_clickhouse() {
  if clickhouse_ready; then
    log "clickhouse: already running"
    return
  fi
  local server
  server="$(command -v clickhouse-server)" || die "clickhouse-server is not installed"
  if [[ -z "$(clickhouse_pid)" ]]; then
    # A pid file left by a killed server makes clickhouse-server refuse to daemonise.
    as_root rm -f "$CLICKHOUSE_PID"
    log "clickhouse: starting"
    as_root mkdir -p "$STATE_DIR"
    (cd / && as_root "$server" --config-file="$CLICKHOUSE_CONFIG" --daemon --pid-file="$CLICKHOUSE_PID") ||
      die "clickhouse failed to start; see $CLICKHOUSE_LOG"
  else
    log "clickhouse: process $(clickhouse_pid) exists, waiting for it to answer"
  fi
  wait_until clickhouse "curl $CLICKHOUSE_HTTP/ping; log: $CLICKHOUSE_LOG" clickhouse_ready
}

stop_clickhouse() {
  local pid
  pid="$(clickhouse_pid)"
  if [[ -n "$pid" ]]; then
    log "clickhouse: stopping (pid $pid)"
    as_root kill -TERM "$pid" 2>/dev/null || true
    wait_while clickhouse kill -0 "$pid"
  elif clickhouse_ready; then
    die "clickhouse answers on $CLICKHOUSE_HTTP but was not started by this script (no $CLICKHOUSE_PID); stop it the way it was started"
  else
    log "clickhouse: not running"
  fi
  wait_while clickhouse clickhouse_ready
}

# --- clickhouse cluster: zookeeper and two replicas ------------------------------------------------

zookeeper_dir() { echo "$STATE_DIR/zookeeper"; }

zookeeper_ready() { [[ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ZOOKEEPER_PORT && echo ruok >&3 && cat <&3" 2>/dev/null)" == imok* ]]; }

start_zookeeper() {
  if zookeeper_ready; then
    log "zookeeper: already running"
    return
  fi
  if [[ ! -x /usr/share/zookeeper/bin/zkServer.sh ]]; then
    log "zookeeper: installing with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper
  fi
  local dir
  dir="$(zookeeper_dir)"
  as_root mkdir -p "$dir/data"
  # No admin server (it would take port 8080); ruok answers the readiness check.
  printf '%s\n' "tickTime=500" "initLimit=10" "syncLimit=5" "dataDir=$dir/data" "clientPort=$ZOOKEEPER_PORT" \
    "clientPortAddress=127.0.0.1" "admin.enableServer=false" "4lw.commands.whitelist=ruok" | as_root tee "$dir/zoo.cfg" >/dev/null
  log "zookeeper: starting"
  as_root env ZOO_LOG_DIR="$dir" ZOOPIDFILE="$dir/zookeeper.pid" ZK_SERVER_HEAP=256 \
    /usr/share/zookeeper/bin/zkServer.sh start "$dir/zoo.cfg" >"$dir/start.log" 2>&1 ||
    die "zookeeper failed to start; see $dir/start.log"
  wait_until zookeeper "echo ruok to port $ZOOKEEPER_PORT; logs: $dir" zookeeper_ready
}

stop_zookeeper() {
  local dir pid
  dir="$(zookeeper_dir)"
  pid="$(cat "$dir/zookeeper.pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    log "zookeeper: stopping (pid $pid)"
    as_root kill -TERM "$pid"
    wait_while zookeeper kill -0 "$pid"
  else
    log "zookeeper: not running"
  fi
  as_root rm -rf "$dir"
}

clickhouse_replica_dir() { echo "$STATE_DIR/clickhouse-cluster/$1"; }
clickhouse_replica_url() { echo "http://127.0.0.1:$((8123 + $1))"; }
clickhouse_replica_ready() { [[ "$(curl -fsS --max-time 2 "$(clickhouse_replica_url "$1")/ping" 2>/dev/null)" == Ok.* ]]; }

clickhouse_cluster_ready() {
  zookeeper_ready || return 1
  local n
  for n in "${CLICKHOUSE_REPLICAS[@]}"; do clickhouse_replica_ready "$n" || return 1; done
}

write_clickhouse_replica_config() {
  local n="$1" dir="$2" replicas="" m
  for m in "${CLICKHOUSE_REPLICAS[@]}"; do
    replicas+="<replica><host>127.0.0.1</host><port>$((9100 + m))</port></replica>"
  done
  as_root tee "$dir/config.xml" >/dev/null <<XML
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/server.err.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$((8123 + n))</http_port>
  <tcp_port>$((9100 + n))</tcp_port>
  <interserver_http_port>$((9110 + n))</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers><$CLICKHOUSE_CLUSTER_NAME><shard><internal_replication>true</internal_replication>$replicas</shard></$CLICKHOUSE_CLUSTER_NAME></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>$ZOOKEEPER_PORT</port></node></zookeeper>
  <macros><shard>01</shard><replica>r$n</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
XML
}

start_clickhouse_cluster() {
  start_zookeeper
  local server n dir
  server="$(command -v clickhouse-server)" || die "clickhouse-server is not installed"
  for n in "${CLICKHOUSE_REPLICAS[@]}"; do
    clickhouse_replica_ready "$n" && continue
    dir="$(clickhouse_replica_dir "$n")"
    as_root mkdir -p "$dir"
    write_clickhouse_replica_config "$n" "$dir"
    as_root rm -f "$dir/clickhouse.pid"
    log "clickhouse replica $n: starting"
    (cd / && as_root "$server" --config-file="$dir/config.xml" --daemon --pid-file="$dir/clickhouse.pid") ||
      die "clickhouse replica $n failed to start; see $dir/server.err.log"
  done
  for n in "${CLICKHOUSE_REPLICAS[@]}"; do
    wait_until "clickhouse replica $n" "curl $(clickhouse_replica_url "$n")/ping; log: $(clickhouse_replica_dir "$n")/server.err.log" clickhouse_replica_ready "$n"
  done
}

stop_clickhouse_cluster() {
  local n dir pid
  for n in "${CLICKHOUSE_REPLICAS[@]}"; do
    dir="$(clickhouse_replica_dir "$n")"
    pid="$(as_root cat "$dir/clickhouse.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == clickhouse* ]]; then
      log "clickhouse replica $n: stopping (pid $pid)"
      as_root kill -TERM "$pid" 2>/dev/null || true
      wait_while "clickhouse replica $n" kill -0 "$pid"
    fi
    as_root rm -rf "$dir"
  done
  stop_zookeeper
}

# --- commands ------------------------------------------------------------------------------------

print_env() {
  cat <<EOF

Services are up. Export these to run the integration tests against them:

export TOLLGATE_TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/$PG_DATABASE
export TOLLGATE_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export TOLLGATE_TEST_REDIS_CLUSTER_URL=redis+cluster://127.0.0.1:$REDIS_CLUSTER_PORT,127.0.0.1:$((REDIS_CLUSTER_PORT + 1)),127.0.0.1:$((REDIS_CLUSTER_PORT + 2))
export TOLLGATE_TEST_CLICKHOUSE_URL=$CLICKHOUSE_HTTP
# after scripts/services.sh start-one clickhouse-cluster:
export TOLLGATE_TEST_CLICKHOUSE_CLUSTER_URL=$(clickhouse_replica_url 1),$(clickhouse_replica_url 2)
EOF
}

check_name() {
  case "${1:-}" in
    postgres | redis | redis-cluster | clickhouse | clickhouse-cluster) ;;
    *) die "expected a service name: postgres, redis, redis-cluster, clickhouse or clickhouse-cluster (got '${1:-}')" ;;
  esac
}

status() {
  local name
  for name in postgres redis redis_cluster clickhouse clickhouse_cluster; do
    if "${name}_ready"; then echo "${name//_/-}: up"; else echo "${name//_/-}: down"; fi
  done
}

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local command="${1:-start}"
  case "$command" in
    start | up)
      install_if_missing
      start_postgres
      start_redis
      start_redis_cluster
      start_clickhouse
      print_env
      ;;
    stop | down)
      stop_clickhouse_cluster
      stop_clickhouse
      stop_redis_cluster
      stop_redis
      stop_postgres
      ;;
    start-one)
      check_name "${2:-}"
      install_if_missing
      "start_${2//-/_}"
      ;;
    stop-one)
      check_name "${2:-}"
      "stop_${2//-/_}"
      ;;
    status) status ;;
    env) print_env ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      die "unknown command '$command'"
      ;;
  esac
}

main "$@"
