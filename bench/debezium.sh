#!/usr/bin/env bash
# What a benchmark needs to compare Syncline's capture with the Debezium PostgreSQL connector,
# on this machine and without Docker; everything binds 127.0.0.1 only.
#
#   debezium.sh pg-up       a PostgreSQL cluster of the benchmark's own with wal_level=logical on
#                           127.0.0.1:5433 (the machine's PostgreSQL binaries), database 'bench'
#   debezium.sh pg-down     stop it
#   debezium.sh provision   resolve Kafka Connect, the Debezium PostgreSQL connector and Kafka's
#                           console tools from Maven Central into .cache/debezium-<v>/ (cached)
#   debezium.sh connect-up [connector.properties]
#                           start Kafka Connect standalone (REST on 127.0.0.1:8093) with that
#                           connector (default bench/debezium/connector.properties) and wait
#                           until the connector and its task are RUNNING
#   debezium.sh connect-down  stop Connect and wait for it to exit
#   debezium.sh reset [connector.properties]
#                           Connect being down: forget the connector's offsets, drop its slot and
#                           publication and delete its topics (only under dbz.), for a clean run
#   debezium.sh status      the state of the cluster, of Connect and of its connectors
#   debezium.sh consume <topic> [console consumer args...]
#                           Kafka's console consumer against 127.0.0.1:9092
#
# The broker is the stack's (stack/stack.sh up): Connect's topics are the connector's own
# (topic.prefix, dbz.*); standalone mode keeps offsets in a file, so it creates no internal topic.
# Downloads are cached in .cache/ and state and logs live in .stack/ (both git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYNCLINE_CACHE_DIR:-$ROOT/.cache}"
STATE="${SYNCLINE_STATE_DIR:-$ROOT/.stack}"
LOGS="$STATE/logs"

# The worker must speak the broker's version: the default is stack.sh's own.
stack_kafka_version="$(sed -nE 's/^KAFKA_VERSION="\$\{SYNCLINE_KAFKA_VERSION:-([^}]+)\}"/\1/p' "$ROOT/stack/stack.sh" | head -n1)"
KAFKA_VERSION="${SYNCLINE_KAFKA_VERSION:-${stack_kafka_version:-3.9.2}}"
DEBEZIUM_VERSION="${SYNCLINE_DEBEZIUM_VERSION:-3.6.1.Final}"
KAFKA_PORT="${SYNCLINE_KAFKA_PORT:-9092}"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

PGL_PORT="${SYNCLINE_DBZ_PG_PORT:-5433}"
PGL_DB=bench
PGL_DIR="$STATE/pg-logical"
PGL_LOG="$LOGS/pg-logical.log"
PGL_SOCKET_DIR="$STATE/pg-logical-socket"

DBZ_HOME="$CACHE/debezium-$DEBEZIUM_VERSION"
DBZ_LIBS="$DBZ_HOME/libs"
DBZ_PLUGINS="$DBZ_HOME/plugins"
DBZ_TOOLS="$DBZ_HOME/tools"
CONNECT_DIR="$STATE/debezium"
CONNECT_PID="$CONNECT_DIR/connect.pid"
CONNECT_LOG="$LOGS/debezium-connect.log"
CONNECT_PORT="${SYNCLINE_DBZ_CONNECT_PORT:-8093}"
CONNECT_HEAP="${SYNCLINE_DBZ_CONNECT_HEAP:-768m}"
HEALTH_TIMEOUT="${SYNCLINE_HEALTH_TIMEOUT:-120}"

mkdir -p "$CACHE" "$STATE" "$LOGS" "$CONNECT_DIR"

LOG_PREFIX=debezium
# shellcheck source=../stack/common.sh
. "$ROOT/stack/common.sh"

now_ms() { date +%s%3N; }
secs_since() { local t=$(( $(now_ms) - $1 )); printf '%d.%01d' $(( t / 1000 )) $(( t % 1000 / 100 )); }

connect_java_home() {
  local java_home="${SYNCLINE_DBZ_JAVA_HOME:-}"
  if [ -n "$java_home" ]; then
    [ -x "$java_home/bin/java" ] || fail "SYNCLINE_DBZ_JAVA_HOME=$java_home has no bin/java"
  else
    # Debezium 3 needs Java 17; Kafka 3.9 runs on 17 and 21 (newer JDKs removed the Subject API it uses).
    java_home="$(find_java_home 17 21)"
  fi
  [ -n "$java_home" ] || fail "Kafka Connect $KAFKA_VERSION with Debezium 3 needs Java 17 or 21 and none was found in /usr/lib/jvm; set SYNCLINE_DBZ_JAVA_HOME"
  echo "$java_home"
}

with_lock() {
  exec 9>"$CONNECT_DIR/.lock"
  flock 9
}

# ---------------------------------------------------------------- PostgreSQL (wal_level=logical)
PG_BIN=""
pg_bin() {
  [ -n "$PG_BIN" ] && return
  local v
  v="${SYNCLINE_DBZ_PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)}"
  PG_BIN="/usr/lib/postgresql/$v/bin"
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || fail "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/${v:-?}/bin"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to and runs as 'postgres'.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d postgres; }
pg_running() { [ -f "$PGL_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGL_DIR" status >/dev/null 2>&1; }

pg_settings() {
  # Written at each start, so that a change here applies at the next one. Durability (fsync,
  # synchronous_commit, full_page_writes) is left at the defaults, as on the stack's cluster.
  cat > "$PGL_DIR/syncline.conf" <<EOF
# Written by bench/debezium.sh at each pg-up; edits are lost.
listen_addresses = '127.0.0.1'
port = $PGL_PORT
unix_socket_directories = '$PGL_SOCKET_DIR'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_slot_wal_keep_size = 4GB
EOF
  grep -q "^include_if_exists = 'syncline.conf'" "$PGL_DIR/postgresql.conf" \
    || printf "\ninclude_if_exists = 'syncline.conf'\n" >> "$PGL_DIR/postgresql.conf"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PGL_DIR/syncline.conf" "$PGL_DIR/postgresql.conf"
  return 0
}

pg_up() {
  pg_bin
  if ! pg_running; then
    if port_open "$PGL_PORT"; then
      fail "port $PGL_PORT is already taken by something else ($(port_owner "$PGL_PORT" || echo unknown process)); stop it or set SYNCLINE_DBZ_PG_PORT"
    fi
    # The 'postgres' user must reach the data, socket and log under the project.
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$STATE"; then
      fail "the postgres user cannot reach $STATE (a directory on the way is not searchable)"
    fi
    mkdir -p "$PGL_SOCKET_DIR"
    [ ${#PGL_SOCKET_DIR} -lt 90 ] || fail "the socket directory $PGL_SOCKET_DIR is too long for a Unix socket path; set SYNCLINE_STATE_DIR"
    touch "$PGL_LOG"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PGL_SOCKET_DIR" "$PGL_LOG"; fi
    if [ ! -f "$PGL_DIR/PG_VERSION" ]; then
      info "creating the PostgreSQL $(basename "$(dirname "$PG_BIN")") cluster in $PGL_DIR"
      rm -rf "$PGL_DIR"
      mkdir -p "$PGL_DIR"
      chmod 700 "$PGL_DIR"
      if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PGL_DIR"; fi
      as_pg "$PG_BIN/initdb" -D "$PGL_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >>"$PGL_LOG" 2>&1 \
        || fail "initdb failed" "$PGL_LOG"
    fi
    pg_settings
    info "starting PostgreSQL (wal_level=logical) on 127.0.0.1:$PGL_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGL_DIR" -l "$PGL_LOG" -w -t "$HEALTH_TIMEOUT" start >/dev/null 9>&- \
      || fail "PostgreSQL did not start" "$PGL_LOG"
  fi
  local i
  for i in $(seq 1 "$HEALTH_TIMEOUT"); do pg_ready && break; sleep 1; done
  pg_ready || fail "PostgreSQL does not answer on 127.0.0.1:$PGL_PORT" "$PGL_LOG"
  [ "$(psql -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d postgres -tAc 'show wal_level')" = logical ] \
    || fail "the cluster on 127.0.0.1:$PGL_PORT runs without wal_level=logical; restart it (pg-down, pg-up)"
  if [ "$(psql -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$PGL_DB'")" != 1 ]; then
    psql -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d postgres -qc "create database $PGL_DB" >/dev/null
    info "created database $PGL_DB"
  fi
  info "PostgreSQL ready: postgres://postgres@127.0.0.1:$PGL_PORT/$PGL_DB"
}

pg_down() {
  pg_bin
  if pg_running; then
    info "stopping PostgreSQL on 127.0.0.1:$PGL_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGL_DIR" -m fast -w -t "$HEALTH_TIMEOUT" stop >/dev/null || fail "PostgreSQL did not stop" "$PGL_LOG"
  fi
}

# ---------------------------------------------------------------- provisioning
provision() {
  [ -f "$DBZ_HOME/.complete" ] && return
  local t0 log="$LOGS/maven-debezium.log" work="$DBZ_HOME/work"
  t0="$(now_ms)"
  info "resolving Kafka Connect $KAFKA_VERSION, io.debezium:debezium-connector-postgres:$DEBEZIUM_VERSION and kafka-tools $KAFKA_VERSION from Maven Central"
  rm -rf "$work" "$DBZ_LIBS" "$DBZ_PLUGINS" "$DBZ_TOOLS"
  mkdir -p "$work"
  : > "$log"
  sed -e "s/@KAFKA_VERSION@/$KAFKA_VERSION/g" -e "s/@DEBEZIUM_VERSION@/$DEBEZIUM_VERSION/g" \
    "$ROOT/bench/debezium/pom.xml" > "$work/pom.xml"
  # The worker's classpath.
  mvn_fetch "$log" -f "$work/pom.xml" -P connect dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/libs"
  # The connector in a plugin.path directory of its own: Connect loads it in an isolated class
  # loader, so its dependencies cannot clash with the worker's. Its POM declares Kafka's APIs and
  # slf4j-api 'provided', so they are not copied; anything the worker has anyway is left out too.
  mvn_fetch "$log" -f "$work/pom.xml" -P connector dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/plugins/debezium-connector-postgres" \
    -DexcludeGroupIds=org.apache.kafka,org.slf4j
  # The console consumer (org.apache.kafka.tools.consumer.ConsoleConsumer lives in kafka-tools).
  mvn_fetch "$log" -f "$work/pom.xml" -P tools dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/tools"
  mv "$work/libs" "$DBZ_LIBS"
  mv "$work/plugins" "$DBZ_PLUGINS"
  mv "$work/tools" "$DBZ_TOOLS"
  mv "$work/pom.xml" "$DBZ_HOME/pom.xml"
  rm -rf "$work"
  touch "$DBZ_HOME/.complete"
  info "provisioned $DBZ_HOME in $(secs_since "$t0")s: libs $(ls "$DBZ_LIBS" | wc -l) jars, plugin $(ls "$DBZ_PLUGINS/debezium-connector-postgres" | wc -l) jars, tools $(ls "$DBZ_TOOLS" | wc -l) jars"
}

# ---------------------------------------------------------------- Kafka Connect standalone
connector_name() { sed -nE 's/^[[:space:]]*name[[:space:]]*[=:][[:space:]]*([^[:space:]]+).*/\1/p' "$1" | head -n1; }

connect_write_config() {
  cat > "$CONNECT_DIR/worker.properties" <<EOF
# Written by bench/debezium.sh at each connect-up; edits are lost.
bootstrap.servers=$BOOTSTRAP
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.storage.file.filename=$CONNECT_DIR/connect.offsets
offset.flush.interval.ms=1000
plugin.path=$DBZ_PLUGINS
# Read the plugins' service manifests instead of scanning every class of every jar: all of
# Connect's and Debezium's plugins have them, and start-up is seconds shorter on 2 cores.
# One ERROR at start is expected and harmless: "Failed to discover Converter ... Provider
# io.debezium.converters.CloudEventsConverter could not be instantiated". That converter (not
# used here) looks up JsonConverter's method taking Jackson's JsonNode, and the plugin's Jackson
# (2.21, Debezium's) is not the worker's (2.16, Kafka 3.9's).
plugin.discovery=service_load
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
EOF
  cat > "$CONNECT_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$CONNECT_LOG
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.reflections=ERROR
log4j.logger.org.apache.kafka.clients.consumer.ConsumerConfig=WARN
log4j.logger.org.apache.kafka.clients.producer.ProducerConfig=WARN
log4j.logger.org.apache.kafka.clients.admin.AdminClientConfig=WARN
EOF
}

# connector state, task states: "RUNNING RUNNING", "FAILED", "" when unknown.
connector_states() {
  local body
  body="$(curl -fsS -m 3 "http://127.0.0.1:$CONNECT_PORT/connectors/$1/status" 2>/dev/null)" || return 0
  echo "$body" | grep -oE '"state":"[A-Z_]+"' | cut -d'"' -f4 | tr '\n' ' '
}

connect_up() {
  local props="${1:-$ROOT/bench/debezium/connector.properties}"
  [ -f "$props" ] || fail "no connector properties file $props"
  props="$(cd "$(dirname "$props")" && pwd)/$(basename "$props")"
  local name; name="$(connector_name "$props")"
  [ -n "$name" ] || fail "$props has no name=..."
  if pid_alive "$CONNECT_PID"; then
    # Standalone Connect runs the connectors it was started with; another one needs a restart.
    local running; running="$(cat "$CONNECT_DIR/connector.name" 2>/dev/null || true)"
    [ "$running" = "$name" ] || fail "Kafka Connect is already running (pid $(cat "$CONNECT_PID")) with connector ${running:-?}, not $name; run connect-down first"
    info "Kafka Connect is already running (pid $(cat "$CONNECT_PID")) with connector $name"
    CONNECT_LOG_FROM=""
    connect_wait "$name" "$(now_ms)"
    return
  fi
  if port_open "$CONNECT_PORT"; then
    fail "port $CONNECT_PORT needed by Kafka Connect is already taken ($(port_owner "$CONNECT_PORT" || echo unknown process)); set SYNCLINE_DBZ_CONNECT_PORT"
  fi
  port_open "$KAFKA_PORT" || fail "no Kafka broker on $BOOTSTRAP: start the stack (stack/stack.sh up)"
  pg_ready || fail "no PostgreSQL on 127.0.0.1:$PGL_PORT: run 'bench/debezium.sh pg-up' first"
  local java_home; java_home="$(connect_java_home)"
  provision
  connect_write_config
  local t0; t0="$(now_ms)"
  CONNECT_LOG_FROM=$(( $( [ -f "$CONNECT_LOG" ] && wc -l < "$CONNECT_LOG" || echo 0) + 1 ))
  info "starting Kafka Connect $KAFKA_VERSION standalone (REST on 127.0.0.1:$CONNECT_PORT) with $(basename "$java_home"), connector $name from $props"
  nohup "$java_home/bin/java" "-Xms256m" "-Xmx$CONNECT_HEAP" -XX:+UseG1GC \
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$CONNECT_DIR/log4j.properties" \
    -cp "$DBZ_LIBS/*" org.apache.kafka.connect.cli.ConnectStandalone \
    "$CONNECT_DIR/worker.properties" "$props" >>"$CONNECT_LOG" 2>&1 </dev/null 9>&- &
  echo $! > "$CONNECT_PID"
  echo "$name" > "$CONNECT_DIR/connector.name"
  CONNECT_PROPS="$props"
  connect_wait "$name" "$t0"
}

connect_wait() { # name, start time (ms)
  local i states
  for i in $(seq 1 $(( HEALTH_TIMEOUT * 2 ))); do
    pid_alive "$CONNECT_PID" || fail "Kafka Connect exited during start-up" "$CONNECT_LOG"
    states="$(connector_states "$1")"
    case "$states" in
      *FAILED*)
        curl -fsS -m 3 "http://127.0.0.1:$CONNECT_PORT/connectors/$1/status" >&2 || true
        echo >&2
        fail "connector $1 failed" "$CONNECT_LOG"
        ;;
      "RUNNING RUNNING"*)
        # The task is RUNNING once its start() returned (slot and publication exist, so no
        # change is missed from then on); Debezium reads the slot a moment later. Wait for
        # that too, so that a benchmark starting right after measures steady streaming.
        if [ -z "${CONNECT_LOG_FROM:-}" ] \
          || [ "$(tail -n "+$CONNECT_LOG_FROM" "$CONNECT_LOG" | grep -c 'Processing messages (io.debezium.connector.postgresql.PostgresStreamingChangeEventSource)')" -gt 0 ] \
          || ! grep -Eq '^[[:space:]]*connector\.class[[:space:]]*[=:][[:space:]]*io\.debezium\.connector\.postgresql\.PostgresConnector' "$CONNECT_PROPS"; then
          info "connector $1 RUNNING (connector and task, streaming) $(secs_since "$2")s after start"
          return
        fi
        ;;
    esac
    sleep 0.5
  done
  fail "connector $1 was not RUNNING within ${HEALTH_TIMEOUT}s (state: ${states:-no answer})" "$CONNECT_LOG"
}

connect_down() {
  pid_alive "$CONNECT_PID" || { rm -f "$CONNECT_PID"; return 0; }
  local pid i; pid="$(cat "$CONNECT_PID")"
  info "stopping Kafka Connect (pid $pid)"
  kill "$pid"
  for i in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    info "Kafka Connect did not stop within 60s; killing it"
    kill -9 "$pid"
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$CONNECT_PID"
}

status() {
  local rc=0
  pg_bin
  if pg_ready; then
    echo "pg-logical     healthy   127.0.0.1:$PGL_PORT  wal_level=$(psql -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d postgres -tAc 'show wal_level')  log $PGL_LOG"
  else
    echo "pg-logical     down      127.0.0.1:$PGL_PORT  log $PGL_LOG"; rc=1
  fi
  if [ -f "$DBZ_HOME/.complete" ]; then echo "provisioned    yes       $DBZ_HOME"; else echo "provisioned    no        $DBZ_HOME"; rc=1; fi
  if pid_alive "$CONNECT_PID"; then
    local name; name="$(cat "$CONNECT_DIR/connector.name" 2>/dev/null || true)"
    echo "connect        running   http://127.0.0.1:$CONNECT_PORT  pid $(cat "$CONNECT_PID")  connector ${name:-?}: $(connector_states "${name:-?}")  log $CONNECT_LOG"
  else
    echo "connect        down      http://127.0.0.1:$CONNECT_PORT  log $CONNECT_LOG"; rc=1
  fi
  return "$rc"
}

prop() { # file key: a value of a .properties file
  sed -nE "s/^[[:space:]]*${2//./\\.}[[:space:]]*[=:][[:space:]]*(.*[^[:space:]])?[[:space:]]*\$/\1/p" "$1" | tail -n1
}

tools_java() { # java args...: a JVM with Kafka's tools on the classpath
  [ -f "$DBZ_HOME/.complete" ] || fail "not provisioned: run 'bench/debezium.sh provision' first"
  local java_home; java_home="$(connect_java_home)"
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n' \
    > "$CONNECT_DIR/tools-log4j.properties"
  "$java_home/bin/java" -Xmx256m -cp "$DBZ_TOOLS/*" "-Dlog4j.configuration=file:$CONNECT_DIR/tools-log4j.properties" "$@"
}

# Back to a clean start for the connector of a properties file, Connect being down: its offsets,
# its replication slot and publication, and its topics (only names under dbz.).
reset() {
  local props="${1:-$ROOT/bench/debezium/connector.properties}"
  [ -f "$props" ] || fail "no connector properties file $props"
  if pid_alive "$CONNECT_PID"; then fail "Kafka Connect is running: run connect-down first"; fi
  local slot pub prefix db
  slot="$(prop "$props" slot.name)"; slot="${slot:-debezium}"
  pub="$(prop "$props" publication.name)"; pub="${pub:-dbz_publication}"
  prefix="$(prop "$props" topic.prefix)"
  db="$(prop "$props" database.dbname)"; db="${db:-$PGL_DB}"
  case "$prefix" in dbz.*) ;; *) fail "topic.prefix '$prefix' is not under dbz.: not deleting its topics" ;; esac
  rm -f "$CONNECT_DIR/connect.offsets"
  if pg_ready; then
    psql -h 127.0.0.1 -p "$PGL_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt \
      -c "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = '$slot'" \
      -c "drop publication if exists \"$pub\"" >/dev/null
  fi
  local topics
  topics="$(tools_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list | grep -F "$prefix." || true)"
  local t
  for t in $topics; do
    case "$t" in "$prefix".*) tools_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --delete --topic "$t" ;; esac
  done
  info "reset: offsets forgotten, slot $slot and publication $pub dropped, topics deleted: $(echo ${topics:-none})"
}

consume() {
  [ -n "${1:-}" ] || fail "consume takes a topic"
  local topic="$1"; shift
  tools_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BOOTSTRAP" --topic "$topic" "$@"
}

cmd="${1:-status}"
case "$cmd" in
  pg-up) with_lock; pg_up ;;
  pg-down) with_lock; pg_down ;;
  provision) with_lock; provision ;;
  connect-up) with_lock; connect_up "${2:-}" ;;
  connect-down) with_lock; connect_down ;;
  status) status ;;
  reset) with_lock; reset "${2:-}" ;;
  consume) shift; consume "$@" ;;
  *) fail "unknown command '$cmd' (pg-up, pg-down, provision, connect-up [properties], connect-down, reset [properties], status, consume <topic>)" ;;
esac
