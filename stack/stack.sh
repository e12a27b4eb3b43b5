#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL (the machine's server), Apache Kafka (KRaft,
# jars from Maven Central) and Elasticsearch (Maven Central's integ-test distribution),
# all bound to 127.0.0.1.
#
#   stack.sh up       provision (cached) and start what is not running; wait for health
#   stack.sh down     stop what 'up' started, nothing else
#   stack.sh stop kafka|elasticsearch   stop one service (fault-injection tests); 'up' restarts it
#   stack.sh status   health and version of each service
#   stack.sh logs [postgres|kafka|elasticsearch]   the last lines of the logs
#   stack.sh env      the connection settings, as shell exports
#
# Downloads are cached in .cache/ and runtime state and logs live in .stack/ (both ignored).
# Versions and ports come from the environment, see the defaults below and docs/stack.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYNCLINE_CACHE_DIR:-$ROOT/.cache}"
STATE="${SYNCLINE_STATE_DIR:-$ROOT/.stack}"
LOGS="$STATE/logs"

KAFKA_VERSION="${SYNCLINE_KAFKA_VERSION:-3.9.2}"
ES_VERSION="${SYNCLINE_ES_VERSION:-9.5.0}"
PG_HOST=127.0.0.1
PG_PORT="${SYNCLINE_PG_PORT:-5432}"
PG_DATABASES="${SYNCLINE_PG_DATABASES:-syncline syncline_test}"
KAFKA_PORT="${SYNCLINE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${SYNCLINE_KAFKA_CONTROLLER_PORT:-9093}"
# A second listener of the same broker, SASL over TLS (SCRAM-SHA-256/512 and PLAIN, user syncline), for the
# deployments' settings (docs/deployment.md) and their tests.
KAFKA_SECURE_PORT="${SYNCLINE_KAFKA_SECURE_PORT:-9094}"
KAFKA_HEAP="${SYNCLINE_KAFKA_HEAP:-768m}"
ES_PORT="${SYNCLINE_ES_PORT:-9200}"
ES_TRANSPORT_PORT="${SYNCLINE_ES_TRANSPORT_PORT:-9300}"
ES_HEAP="${SYNCLINE_ES_HEAP:-1g}"
ES_USER="${SYNCLINE_ES_USER:-syncline-es}"
HEALTH_TIMEOUT="${SYNCLINE_HEALTH_TIMEOUT:-120}"

mkdir -p "$CACHE" "$STATE" "$LOGS"

LOG_PREFIX=stack
# shellcheck source=common.sh
. "$ROOT/stack/common.sh"

ensure_port_free() { # port service pidfile
  if port_open "$1" && ! pid_alive "$3"; then
    fail "port $1 needed by $2 is already taken by something else ($(port_owner "$1" || echo unknown process)); stop it or set the port variable (docs/stack.md)"
  fi
}

# ---------------------------------------------------------------- PostgreSQL
pg_up() {
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      info "PostgreSQL is down on $PG_HOST:$PG_PORT; starting the machine's cluster"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start \
        || fail "could not start PostgreSQL" "/var/log/postgresql/"
      touch "$STATE/postgres.started-by-stack"
    fi
    local i
    for i in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "PostgreSQL does not answer on $PG_HOST:$PG_PORT" "/var/log/postgresql/"
  fi
  local db
  for db in $PG_DATABASES; do
    if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$db'")" != "1" ]; then
      psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc "create database $db" >/dev/null
      info "created database $db"
    fi
  done
}

pg_status() {
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    echo "postgres       healthy   $(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'show server_version' | cut -d' ' -f1)   postgres://postgres@$PG_HOST:$PG_PORT  (machine service)"
  else
    echo "postgres       down      -        postgres://postgres@$PG_HOST:$PG_PORT"
    return 1
  fi
}

# ---------------------------------------------------------------- Kafka
KAFKA_DIR="$STATE/kafka"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"

kafka_provision() {
  [ -f "$KAFKA_LIBS/.complete" ] && return
  info "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
  local work="$CACHE/kafka-$KAFKA_VERSION"
  mkdir -p "$work"
  sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/" "$ROOT/stack/kafka/pom.xml" > "$work/pom.xml"
  rm -rf "$KAFKA_LIBS"
  mvn_fetch "$LOGS/maven-kafka.log" -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

# The JDK Kafka runs on: SYNCLINE_KAFKA_JAVA_HOME, or the newest Java 17 to 21 on the machine.
kafka_java_home() {
  local java_home="${SYNCLINE_KAFKA_JAVA_HOME:-$(find_java_home 17 21)}"
  if [ -n "${SYNCLINE_KAFKA_JAVA_HOME:-}" ] && [ ! -x "$java_home/bin/java" ]; then
    fail "SYNCLINE_KAFKA_JAVA_HOME=$java_home has no bin/java"
  fi
  # Kafka 3.9 is tested on Java 17 and 21; newer JDKs removed the Subject API it relies on.
  [ -n "$java_home" ] || fail "Kafka $KAFKA_VERSION needs Java 17 or 21 and none was found in /usr/lib/jvm; set SYNCLINE_KAFKA_JAVA_HOME"
  echo "$java_home"
}

KAFKA_TLS="$KAFKA_DIR/tls"
KAFKA_TLS_PASS=syncline-stack

# A CA, the broker's certificate for 127.0.0.1 signed by it, an unrelated CA (what an untrusted server
# certificate looks like to a client), and the SASL user's password; made once per state directory.
kafka_tls() { # java home
  [ -f "$KAFKA_TLS/.complete" ] && return
  local kt="$1/bin/keytool" log="$LOGS/kafka-tls.log"
  local store=(-storetype PKCS12 -storepass "$KAFKA_TLS_PASS")
  rm -rf "$KAFKA_TLS"
  mkdir -p "$KAFKA_TLS"
  info "making the secured listener's CA, certificate and SASL password in $KAFKA_TLS"
  {
    "$kt" -genkeypair -alias ca -keyalg RSA -keysize 2048 -dname "CN=Syncline stack CA" -ext bc:c -validity 3650 \
      -keystore "$KAFKA_TLS/ca.p12" "${store[@]}"
    "$kt" -exportcert -rfc -alias ca -keystore "$KAFKA_TLS/ca.p12" "${store[@]}" -file "$KAFKA_TLS/ca.pem"
    "$kt" -genkeypair -alias broker -keyalg RSA -keysize 2048 -dname "CN=127.0.0.1" -validity 3650 \
      -keystore "$KAFKA_TLS/broker.p12" "${store[@]}"
    "$kt" -certreq -alias broker -keystore "$KAFKA_TLS/broker.p12" "${store[@]}" -file "$KAFKA_TLS/broker.csr"
    "$kt" -gencert -alias ca -keystore "$KAFKA_TLS/ca.p12" "${store[@]}" -ext "SAN=IP:127.0.0.1,DNS:localhost" \
      -validity 3650 -rfc -infile "$KAFKA_TLS/broker.csr" -outfile "$KAFKA_TLS/broker.pem"
    "$kt" -importcert -noprompt -alias ca -file "$KAFKA_TLS/ca.pem" -keystore "$KAFKA_TLS/broker.p12" "${store[@]}"
    "$kt" -importcert -noprompt -alias broker -file "$KAFKA_TLS/broker.pem" -keystore "$KAFKA_TLS/broker.p12" "${store[@]}"
    "$kt" -genkeypair -alias other -keyalg RSA -keysize 2048 -dname "CN=Some other CA" -ext bc:c -validity 3650 \
      -keystore "$KAFKA_TLS/other-ca.p12" "${store[@]}"
    "$kt" -exportcert -rfc -alias other -keystore "$KAFKA_TLS/other-ca.p12" "${store[@]}" -file "$KAFKA_TLS/other-ca.pem"
  } >"$log" 2>&1 || fail "making the Kafka TLS material failed" "$log"
  head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$KAFKA_TLS/syncline.password"
  chmod 600 "$KAFKA_TLS/syncline.password"
  touch "$KAFKA_TLS/.complete"
}

# The SCRAM credentials of user syncline (stored in the cluster's metadata), set once per data directory
# (also when a start was interrupted after the broker came up).
kafka_scram_user() {
  [ -f "$KAFKA_DIR/data/.scram-syncline" ] && return
  local password java_home
  password="$(cat "$KAFKA_TLS/syncline.password")"
  java_home="$(kafka_java_home)" || exit 1
  local mechanism
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do # one credential per request
    "$java_home/bin/java" -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties" \
      kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users \
      --entity-name syncline --add-config "$mechanism=[password=$password]" \
      >>"$LOGS/kafka.log" 2>&1 || fail "creating Kafka's SCRAM user failed" "$LOGS/kafka.log"
  done
  touch "$KAFKA_DIR/data/.scram-syncline"
}

kafka_up() {
  if pid_alive "$KAFKA_PID"; then
    kafka_wait; kafka_scram_user; return
  fi
  ensure_port_free "$KAFKA_PORT" kafka "$KAFKA_PID"
  ensure_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller" "$KAFKA_PID"
  ensure_port_free "$KAFKA_SECURE_PORT" "kafka (secured listener)" "$KAFKA_PID"
  local java_home
  java_home="$(kafka_java_home)" || exit 1
  kafka_provision
  mkdir -p "$KAFKA_DIR/data"
  kafka_tls "$java_home"
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA@|$KAFKA_DIR/data|g" \
    -e "s|@SECURE_PORT@|$KAFKA_SECURE_PORT|g" -e "s|@TLS@|$KAFKA_TLS|g" -e "s|@TLS_PASS@|$KAFKA_TLS_PASS|g" \
    -e "s|@PASSWORD@|$(cat "$KAFKA_TLS/syncline.password")|g" \
    "$ROOT/stack/kafka/server.properties" > "$KAFKA_DIR/server.properties"
  chmod 600 "$KAFKA_DIR/server.properties"
  sed -e "s|@LOG@|$LOGS/kafka.log|g" "$ROOT/stack/kafka/log4j.properties" > "$KAFKA_DIR/log4j.properties"
  local java=("$java_home/bin/java" -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties")
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$("${java[@]}" kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka.log")"
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >>"$LOGS/kafka.log" 2>&1 \
      || fail "formatting Kafka's KRaft storage failed" "$LOGS/kafka.log"
  fi
  KAFKA_LOG_FROM=$(( $(wc -l < "$LOGS/kafka.log") + 1 ))
  info "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT with $(basename "$java_home")"
  nohup "${java[@]}" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$LOGS/kafka.log" 2>&1 </dev/null 9>&- &
  echo $! > "$KAFKA_PID"
  kafka_wait
  kafka_scram_user
}

kafka_wait() {
  local i
  for i in $(seq 1 "$HEALTH_TIMEOUT"); do
    pid_alive "$KAFKA_PID" || fail "Kafka exited during start-up" "$LOGS/kafka.log"
    # grep -c reads to the end: with pipefail, grep -q would make tail die of SIGPIPE.
    if port_open "$KAFKA_PORT" && [ "$(tail -n "+${KAFKA_LOG_FROM:-1}" "$LOGS/kafka.log" | grep -c 'Kafka Server started')" -gt 0 ]; then return; fi
    sleep 1
  done
  fail "Kafka did not become healthy within ${HEALTH_TIMEOUT}s" "$LOGS/kafka.log"
}

kafka_status() {
  if pid_alive "$KAFKA_PID" && port_open "$KAFKA_PORT"; then
    echo "kafka          healthy   $KAFKA_VERSION    127.0.0.1:$KAFKA_PORT  pid $(cat "$KAFKA_PID")  log $LOGS/kafka.log"
    echo "kafka secured  healthy   SASL_SSL 127.0.0.1:$KAFKA_SECURE_PORT  user syncline  password file $KAFKA_TLS/syncline.password  CA $KAFKA_TLS/ca.pem"
  else
    echo "kafka          down      $KAFKA_VERSION    127.0.0.1:$KAFKA_PORT  log $LOGS/kafka.log"
    return 1
  fi
}

# ---------------------------------------------------------------- Elasticsearch
ES_ZIP="$CACHE/elasticsearch-$ES_VERSION.zip"

# Elasticsearch refuses to run as root, so as root it runs as a dedicated system user, which
# must be able to reach its files: under the project when it can, otherwise in /var/lib.
es_dir() {
  if [ "$(id -u)" -ne 0 ] || runuser -u "$ES_USER" -- test -x "$STATE" 2>/dev/null; then
    echo "$STATE/elasticsearch"
  else
    echo "/var/lib/syncline/$(echo "$ROOT" | cksum | cut -d' ' -f1)/elasticsearch"
  fi
}

es_user_ensure() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$ES_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
    || fail "could not create the system user $ES_USER that runs Elasticsearch"
  info "created system user $ES_USER for Elasticsearch"
}

es_provision() {
  [ -f "$ES_ZIP" ] && return
  info "resolving org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION (zip) from Maven Central"
  mkdir -p "$CACHE/tmp"
  mvn_fetch "$LOGS/maven-elasticsearch.log" -f "$ROOT/stack/kafka/pom.xml" dependency:copy \
    "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" -DoutputDirectory="$CACHE/tmp"
  mv "$CACHE/tmp/elasticsearch-$ES_VERSION.zip" "$ES_ZIP"
}

es_up() {
  es_user_ensure
  local dir; dir="$(es_dir)"
  local pidf="$dir/es.pid"
  if pid_alive "$pidf"; then es_wait "$pidf"; return; fi
  ensure_port_free "$ES_PORT" elasticsearch "$pidf"
  ensure_port_free "$ES_TRANSPORT_PORT" "elasticsearch transport" "$pidf"
  local java_home="${SYNCLINE_ES_JAVA_HOME:-}"
  if [ -n "$java_home" ] && [ ! -x "$java_home/bin/java" ]; then
    fail "SYNCLINE_ES_JAVA_HOME=$java_home has no bin/java"
  fi
  [ -n "$java_home" ] || java_home="$(find_java_home 21)"
  [ -n "$java_home" ] || fail "Elasticsearch $ES_VERSION needs Java 21 or newer and none was found in /usr/lib/jvm; set SYNCLINE_ES_JAVA_HOME"
  es_provision
  mkdir -p "$dir"
  if [ ! -x "$dir/dist/bin/elasticsearch" ] || [ "$(cat "$dir/dist/.version" 2>/dev/null)" != "$ES_VERSION" ]; then
    rm -rf "$dir/dist" "$dir/unpack"
    mkdir -p "$dir/unpack"
    unzip -q "$ES_ZIP" -d "$dir/unpack" || fail "could not unpack $ES_ZIP (delete it to download again)"
    mv "$dir/unpack/elasticsearch-$ES_VERSION" "$dir/dist"
    rm -rf "$dir/unpack"
    echo "$ES_VERSION" > "$dir/dist/.version"
  fi
  mkdir -p "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp"
  cp -r "$dir/dist/config/." "$dir/config/"
  sed -e "s|@PORT@|$ES_PORT|g" -e "s|@TRANSPORT_PORT@|$ES_TRANSPORT_PORT|g" -e "s|@DATA@|$dir/data|g" -e "s|@LOGS@|$dir/logs|g" \
    "$ROOT/stack/elasticsearch/elasticsearch.yml" > "$dir/config/elasticsearch.yml"
  printf -- '-Xms%s\n-Xmx%s\n' "$ES_HEAP" "$ES_HEAP" > "$dir/config/jvm.options.d/heap.options"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$ES_USER" "$dir"
    run=(runuser -u "$ES_USER" --)
  fi
  ln -sfn "$dir/logs" "$LOGS/elasticsearch"
  : > "$LOGS/elasticsearch-stdout.log"
  info "starting Elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT with $(basename "$java_home")${run:+ as user $ES_USER}"
  "${run[@]}" env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    "$dir/dist/bin/elasticsearch" -d -p "$pidf" >>"$LOGS/elasticsearch-stdout.log" 2>&1 9>&- \
    || fail "Elasticsearch failed to start" "$LOGS/elasticsearch-stdout.log and $dir/logs/syncline.log"
  ln -sfn "$pidf" "$STATE/elasticsearch.pid"
  es_wait "$pidf"
}

es_wait() {
  local i
  for i in $(seq 1 "$HEALTH_TIMEOUT"); do
    [ -f "$1" ] && ! pid_alive "$1" && fail "Elasticsearch exited during start-up" "$LOGS/elasticsearch/syncline.log"
    if curl -fsS -m 2 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then return; fi
    sleep 1
  done
  fail "Elasticsearch did not become healthy within ${HEALTH_TIMEOUT}s" "$LOGS/elasticsearch/syncline.log"
}

es_status() {
  local body version health
  if body="$(curl -fsS -m 3 "http://127.0.0.1:$ES_PORT/_nodes/_local/none" 2>/dev/null)"; then
    version="$(echo "$body" | grep -oE '"version":"[^"]+"' | head -n1 | cut -d'"' -f4)"
    health="$(curl -fsS -m 3 "http://127.0.0.1:$ES_PORT/_cluster/health" | grep -oE '"status":"[a-z]+"' | cut -d'"' -f4)"
    echo "elasticsearch  healthy   $version    http://127.0.0.1:$ES_PORT  cluster $health  log $LOGS/elasticsearch/syncline.log"
  else
    echo "elasticsearch  down      $ES_VERSION    http://127.0.0.1:$ES_PORT  log $LOGS/elasticsearch/syncline.log"
    return 1
  fi
}

# ---------------------------------------------------------------- commands
stop_pid() { # pidfile name
  pid_alive "$1" || { rm -f "$1"; return 0; }
  local pid; pid="$(cat "$1")"
  info "stopping $2 (pid $pid)"
  kill "$pid"
  local i
  for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$1"
}

with_lock() {
  exec 9>"$STATE/.lock"
  flock 9
}

cmd="${1:-status}"
case "$cmd" in
  up)
    with_lock
    pg_up
    kafka_up
    es_up
    status_ok=0
    { pg_status; kafka_status; es_status; } || status_ok=1
    exit "$status_ok"
    ;;
  down)
    with_lock
    stop_pid "$KAFKA_PID" kafka
    stop_pid "$(es_dir)/es.pid" elasticsearch
    rm -f "$STATE/elasticsearch.pid"
    if [ -f "$STATE/postgres.started-by-stack" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main stop || true
      rm -f "$STATE/postgres.started-by-stack"
    fi
    ;;
  stop)
    # One service, for fault-injection tests; 'up' starts it again.
    with_lock
    case "${2:-}" in
      kafka) stop_pid "$KAFKA_PID" kafka ;;
      elasticsearch) stop_pid "$(es_dir)/es.pid" elasticsearch; rm -f "$STATE/elasticsearch.pid" ;;
      *) fail "stop takes kafka or elasticsearch" ;;
    esac
    ;;
  status)
    rc=0
    pg_status || rc=1
    kafka_status || rc=1
    es_status || rc=1
    exit "$rc"
    ;;
  logs)
    case "${2:-all}" in
      postgres) tail -n 100 "/var/log/postgresql/postgresql-$(ls /etc/postgresql | sort -V | tail -n1)-main.log" ;;
      kafka) tail -n 100 "$LOGS/kafka.log" ;;
      elasticsearch) tail -n 100 "$LOGS/elasticsearch/syncline.log" ;;
      all) for f in "$LOGS/kafka.log" "$LOGS/elasticsearch/syncline.log"; do echo "==> $f"; tail -n 40 "$f" 2>/dev/null || true; done ;;
      *) fail "unknown service '$2' (postgres, kafka, elasticsearch)" ;;
    esac
    ;;
  env)
    echo "export SYNCLINE_PG_URL=postgres://postgres@$PG_HOST:$PG_PORT/syncline"
    echo "export SYNCLINE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    echo "export SYNCLINE_ES_URL=http://127.0.0.1:$ES_PORT"
    ;;
  *)
    fail "unknown command '$cmd' (up, down, status, logs, env)"
    ;;
esac
