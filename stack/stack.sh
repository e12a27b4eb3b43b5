#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL (the machine's server), Apache Kafka (KRaft,
# jars from Maven Central), Elasticsearch and OpenSearch (Maven Central's integ-test distributions),
# all bound to 127.0.0.1.
#
#   stack.sh up [SERVICE...|all]   provision (cached) and start what is not running; wait for health.
#                     Default: postgres kafka elasticsearch; also elasticsearch-secure, opensearch; all = every one
#   stack.sh down     stop what 'up' started, nothing else
#   stack.sh stop SERVICE   stop one service (fault-injection tests); 'up' restarts it
#   stack.sh status   health and version of each service
#   stack.sh cluster up|down|status   the multi-node cluster: 3 Kafka brokers (RF 3) and 3 Elasticsearch nodes
#   stack.sh logs [SERVICE]   the last lines of the logs
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
ES_SECURE_PORT="${SYNCLINE_ES_SECURE_PORT:-9202}"
ES_SECURE_TRANSPORT_PORT="${SYNCLINE_ES_SECURE_TRANSPORT_PORT:-9302}"
ES_SECURE_HEAP="${SYNCLINE_ES_SECURE_HEAP:-512m}"
OS_VERSION="${SYNCLINE_OPENSEARCH_VERSION:-2.19.6}"
OS_PORT="${SYNCLINE_OPENSEARCH_PORT:-9201}"
OS_TRANSPORT_PORT="${SYNCLINE_OPENSEARCH_TRANSPORT_PORT:-9301}"
OS_HEAP="${SYNCLINE_OPENSEARCH_HEAP:-768m}"
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

# ---------------------------------------------------------------- search engines
# Three single-node search engines, each from Maven Central's integ-test distribution:
#   elasticsearch         the pipeline's default target: plain HTTP, no users;
#   elasticsearch-secure  HTTPS (a certificate signed by the stack's own CA) and x-pack security: user
#                         syncline (file realm) and an API key of it, for the deployments' settings and tests;
#   opensearch            OpenSearch, the other engine Syncline writes to.
# Each runs as a dedicated system user when run as root (neither engine runs as root).
ES_ZIP="$CACHE/elasticsearch-$ES_VERSION.zip"
OS_ZIP="$CACHE/opensearch-$OS_VERSION.zip"
SEARCH_NODES="elasticsearch elasticsearch-secure opensearch"

# Where the engines' files live: under the project when the dedicated user can reach it, otherwise in /var/lib.
search_home() {
  if [ "$(id -u)" -ne 0 ] || runuser -u "$ES_USER" -- test -x "$STATE" 2>/dev/null; then
    echo "$STATE"
  else
    echo "/var/lib/syncline/$(echo "$ROOT" | cksum | cut -d' ' -f1)"
  fi
}
es_dir() { echo "$(search_home)/elasticsearch"; }

# What a node is: N_TITLE N_PRODUCT N_VERSION N_ZIP N_DIST N_DIR N_PORT N_TRANSPORT N_HEAP N_YML N_URL N_JAVA_MIN N_JAVA_MAX N_ENV
node_vars() {
  case "$1" in
    elasticsearch)
      N_TITLE=Elasticsearch N_PRODUCT=elasticsearch N_VERSION="$ES_VERSION" N_ZIP="$ES_ZIP" N_DIR="$(es_dir)"
      N_PORT="$ES_PORT" N_TRANSPORT="$ES_TRANSPORT_PORT" N_HEAP="$ES_HEAP" N_YML=elasticsearch/elasticsearch.yml
      N_URL="http://127.0.0.1:$ES_PORT" N_JAVA_MIN=21 N_JAVA_MAX=999 N_ENV=ES ;;
    elasticsearch-secure)
      N_TITLE="Elasticsearch (secured)" N_PRODUCT=elasticsearch N_VERSION="$ES_VERSION" N_ZIP="$ES_ZIP"
      N_DIR="$(search_home)/elasticsearch-secure" N_PORT="$ES_SECURE_PORT" N_TRANSPORT="$ES_SECURE_TRANSPORT_PORT"
      N_HEAP="$ES_SECURE_HEAP" N_YML=elasticsearch/elasticsearch-secure.yml N_URL="https://127.0.0.1:$ES_SECURE_PORT"
      N_JAVA_MIN=21 N_JAVA_MAX=999 N_ENV=ES ;;
    opensearch)
      # OpenSearch 2.19 relies on the Security Manager, which Java 24 removed.
      N_TITLE=OpenSearch N_PRODUCT=opensearch N_VERSION="$OS_VERSION" N_ZIP="$OS_ZIP" N_DIR="$(search_home)/opensearch"
      N_PORT="$OS_PORT" N_TRANSPORT="$OS_TRANSPORT_PORT" N_HEAP="$OS_HEAP" N_YML=opensearch/opensearch.yml
      N_URL="http://127.0.0.1:$OS_PORT" N_JAVA_MIN=17 N_JAVA_MAX=21 N_ENV=OPENSEARCH ;;
    es-cluster-[123])
      local n="${1#es-cluster-}"
      N_TITLE="Elasticsearch cluster node $n" N_PRODUCT=elasticsearch N_VERSION="$ES_VERSION" N_ZIP="$ES_ZIP"
      N_DIR="$(search_home)/cluster/$1" N_PORT="$((9209 + n))" N_TRANSPORT="$((9309 + n))" N_HEAP=512m
      N_YML=elasticsearch/elasticsearch-cluster.yml N_URL="http://127.0.0.1:$((9209 + n))" N_JAVA_MIN=21 N_JAVA_MAX=999 N_ENV=ES ;;
    *) fail "unknown search node '$1' ($SEARCH_NODES)" ;;
  esac
  N_DIST="$(search_home)/dist/$N_PRODUCT-$N_VERSION"
  N_PID="$N_DIR/node.pid"
  # The engines name their log after the cluster (stack/*/*.yml).
  case "$1" in
    elasticsearch) N_LOG="$N_DIR/logs/syncline.log" ;;
    es-cluster-*) N_LOG="$N_DIR/logs/syncline-cluster.log" ;;
    *) N_LOG="$N_DIR/logs/syncline-${1#elasticsearch-}.log" ;;
  esac
}

search_user_ensure() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$ES_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
    || fail "could not create the system user $ES_USER that runs the search engines"
  info "created system user $ES_USER for the search engines"
}

search_provision() { # product version zip
  [ -f "$3" ] && return
  local group="org.$1.distribution.integ-test-zip"
  info "resolving $group:$1:$2 (zip) from Maven Central"
  mkdir -p "$CACHE/tmp"
  mvn_fetch "$LOGS/maven-$1.log" -f "$ROOT/stack/kafka/pom.xml" dependency:copy \
    "-Dartifact=$group:$1:$2:zip" -DoutputDirectory="$CACHE/tmp"
  mv "$CACHE/tmp/$1-$2.zip" "$3"
}

# As the user the engines run as.
as_search_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$ES_USER" -- "$@"; else "$@"; fi
}

# curl to a node, with the CA and the user of the secured one.
node_curl() { # node path [curl args]
  local node="$1" path="$2"; shift 2
  node_vars "$node"
  if [ "$node" = elasticsearch-secure ]; then
    # The password goes through curl's config on stdin, never on a command line (ps shows those).
    printf 'user = "syncline:%s"\n' "$(cat "$ES_SECURE_TLS/syncline.password")" \
      | curl -fsS -K - --cacert "$ES_SECURE_TLS/ca.pem" "$@" "$N_URL$path"
  else
    curl -fsS "$@" "$N_URL$path"
  fi
}

ES_SECURE_TLS="$STATE/elasticsearch-secure-auth"

# The secured node's CA and certificate for 127.0.0.1, an unrelated CA (an untrusted certificate, to a
# client), and user syncline's password; made once per state directory. The API key is made once the node runs.
es_secure_material() {
  [ -f "$ES_SECURE_TLS/.complete" ] && return
  command -v openssl >/dev/null 2>&1 || fail "openssl is needed to make the secured Elasticsearch node's certificates"
  local t="$ES_SECURE_TLS" log="$LOGS/elasticsearch-secure-tls.log"
  rm -rf "$t"; mkdir -p "$t"
  info "making the secured Elasticsearch node's CA, certificate and password in $t"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/ca.key" -out "$t/ca.pem" -days 3650 -subj "/CN=Syncline stack search CA"
    openssl req -newkey rsa:2048 -nodes -keyout "$t/node.key" -out "$t/node.csr" -subj "/CN=127.0.0.1"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$t/node.ext"
    openssl x509 -req -in "$t/node.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -out "$t/node.pem" -days 3650 -extfile "$t/node.ext"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/other-ca.key" -out "$t/other-ca.pem" -days 3650 -subj "/CN=Some other CA"
    openssl x509 -in "$t/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2 > "$t/ca.fingerprint"
  } >"$log" 2>&1 || fail "making the secured Elasticsearch node's TLS material failed" "$log"
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$t/syncline.password")
  chmod 600 "$t/ca.key" "$t/other-ca.key"
  touch "$t/.complete"
}

# x-pack security's index needs three analysis components of the full distribution's analysis-common
# module, which Maven Central's integ-test distribution lacks: a small plugin (stack/elasticsearch/
# analysis-compat) provides them, compiled here against the distribution's own jars.
es_analysis_compat() { # java_home
  local src="$ROOT/stack/elasticsearch/analysis-compat" dest="$N_DIST/plugins/syncline-analysis-compat"
  local stamp; stamp="$(cat "$src"/* | sha256sum | cut -c1-16)"
  [ "$(cat "$dest/.built" 2>/dev/null)" = "$stamp" ] && return
  [ -x "$1/bin/javac" ] || fail "building the analysis plugin needs a JDK with javac at $1"
  local work="$N_DIST.plugin-build" log="$LOGS/elasticsearch-analysis-compat.log"
  rm -rf "$work" "$dest"; mkdir -p "$work/classes" "$dest"
  { "$1/bin/javac" --release 21 -cp "$N_DIST/lib/*" -d "$work/classes" "$src/AnalysisCompatPlugin.java" \
      && "$1/bin/jar" cf "$dest/syncline-analysis-compat.jar" -C "$work/classes" .; } >"$log" 2>&1 \
    || fail "building the analysis plugin failed" "$log"
  sed "s/@ES_VERSION@/$N_VERSION/" "$src/plugin-descriptor.properties" > "$dest/plugin-descriptor.properties"
  rm -rf "$work"
  echo "$stamp" > "$dest/.built"
  [ "$(id -u)" -eq 0 ] && chown -R "$ES_USER" "$dest"
  return 0
}

# The node's configuration: its yml, heap, and for the secured node its certificate and file-realm user.
node_configure() { # node java_home
  mkdir -p "$N_DIR/config" "$N_DIR/data" "$N_DIR/logs" "$N_DIR/tmp"
  cp -r "$N_DIST/config/." "$N_DIR/config/"
  sed -e "s|@PORT@|$N_PORT|g" -e "s|@TRANSPORT_PORT@|$N_TRANSPORT|g" -e "s|@DATA@|$N_DIR/data|g" -e "s|@LOGS@|$N_DIR/logs|g" \
    -e "s|@NODE@|$1|g" "$ROOT/stack/$N_YML" > "$N_DIR/config/$N_PRODUCT.yml"
  mkdir -p "$N_DIR/config/jvm.options.d"
  printf -- '-Xms%s\n-Xmx%s\n' "$N_HEAP" "$N_HEAP" > "$N_DIR/config/jvm.options.d/heap.options"
  if [ "$1" = elasticsearch-secure ]; then
    es_secure_material
    # The node presents its certificate with the CA's (as Elasticsearch's own set-up does): clients that pin
    # the CA by fingerprint find it in the chain.
    cat "$ES_SECURE_TLS/node.pem" "$ES_SECURE_TLS/ca.pem" > "$N_DIR/config/node.pem"
    cp "$ES_SECURE_TLS/node.key" "$N_DIR/config/"
    : > "$N_DIR/config/users"; : > "$N_DIR/config/users_roles"
    [ "$(id -u)" -eq 0 ] && chown -R "$ES_USER" "$N_DIR"
    as_search_user env ES_JAVA_HOME="$2" ES_PATH_CONF="$N_DIR/config" "$N_DIST/bin/elasticsearch-users" useradd syncline \
      -p "$(cat "$ES_SECURE_TLS/syncline.password")" -r superuser >>"$LOGS/elasticsearch-secure-tls.log" 2>&1 \
      || fail "creating the secured node's user failed" "$LOGS/elasticsearch-secure-tls.log"
  fi
  [ "$(id -u)" -eq 0 ] && chown -R "$ES_USER" "$N_DIR"
  return 0
}

node_up() { # node
  node_start "$1"
  node_wait "$1"
  [ "$1" = elasticsearch-secure ] && es_secure_api_key
  return 0
}

# Starts the node unless it runs; does not wait for it (a cluster's nodes are healthy only together).
node_start() { # node
  local node="$1"
  search_user_ensure
  node_vars "$node"
  # A node started by an earlier version of this script kept its pid in es.pid.
  if [ "$node" = elasticsearch ] && [ -f "$N_DIR/es.pid" ]; then mv -f "$N_DIR/es.pid" "$N_PID"; rm -f "$STATE/elasticsearch.pid"; fi
  if pid_alive "$N_PID"; then return; fi
  ensure_port_free "$N_PORT" "$node" "$N_PID"
  ensure_port_free "$N_TRANSPORT" "$node transport" "$N_PID"
  # SYNCLINE_ES_JAVA_HOME for the Elasticsearch nodes, SYNCLINE_OPENSEARCH_JAVA_HOME for OpenSearch.
  local override="SYNCLINE_${N_ENV}_JAVA_HOME" java_home
  java_home="${!override:-}"
  if [ -n "$java_home" ] && [ ! -x "$java_home/bin/java" ]; then fail "$override=$java_home has no bin/java"; fi
  [ -n "$java_home" ] || java_home="$(find_java_home "$N_JAVA_MIN" "$N_JAVA_MAX")"
  [ -n "$java_home" ] || fail "$N_TITLE $N_VERSION needs Java $N_JAVA_MIN to $N_JAVA_MAX and none was found in /usr/lib/jvm; set $override"
  search_provision "$N_PRODUCT" "$N_VERSION" "$N_ZIP"
  if [ ! -x "$N_DIST/bin/$N_PRODUCT" ]; then
    rm -rf "$N_DIST" "$N_DIST.unpack"
    mkdir -p "$N_DIST.unpack"
    unzip -q "$N_ZIP" -d "$N_DIST.unpack" || fail "could not unpack $N_ZIP (delete it to download again)"
    mv "$N_DIST.unpack/$N_PRODUCT-$N_VERSION" "$N_DIST"
    rm -rf "$N_DIST.unpack"
    [ "$(id -u)" -eq 0 ] && chown -R "$ES_USER" "$(search_home)/dist"
  fi
  [ "$node" = elasticsearch-secure ] && es_analysis_compat "$java_home"
  node_configure "$node" "$java_home"
  rm -f "$N_PID" # a stale one (a crash, a reboot) must not stand for the new process
  ln -sfn "$N_DIR/logs" "$LOGS/$node"
  : > "$LOGS/$node-stdout.log"
  info "starting $N_TITLE $N_VERSION on $N_URL with $(basename "$java_home")$([ "$(id -u)" -eq 0 ] && echo " as user $ES_USER")"
  as_search_user env "${N_ENV}_JAVA_HOME=$java_home" "${N_ENV}_PATH_CONF=$N_DIR/config" "${N_ENV}_TMPDIR=$N_DIR/tmp" \
    "$N_DIST/bin/$N_PRODUCT" -d -p "$N_PID" >>"$LOGS/$node-stdout.log" 2>&1 9>&- \
    || fail "$N_TITLE failed to start" "$LOGS/$node-stdout.log and $N_LOG"
}

node_wait() { # node
  node_vars "$1"
  local i
  for i in $(seq 1 "$HEALTH_TIMEOUT"); do
    [ -f "$N_PID" ] && ! pid_alive "$N_PID" && fail "$N_TITLE exited during start-up" "$N_LOG"
    if node_curl "$1" "/_cluster/health?wait_for_status=yellow&timeout=1s" -m 2 >/dev/null 2>&1; then return; fi
    sleep 1
  done
  fail "$N_TITLE did not become healthy within ${HEALTH_TIMEOUT}s" "$N_LOG"
}

# An API key of user syncline (what a deployment gives Syncline), kept while it still authenticates.
es_secure_api_key() {
  local key="$ES_SECURE_TLS/api-key"
  if [ -s "$key" ] && printf 'header = "Authorization: ApiKey %s"\n' "$(cat "$key")" \
    | curl -fsS -m 5 -K - --cacert "$ES_SECURE_TLS/ca.pem" "https://127.0.0.1:$ES_SECURE_PORT/_security/_authenticate" \
    >/dev/null 2>&1; then return; fi
  local body
  body="$(node_curl elasticsearch-secure /_security/api_key -m 10 -X POST -H 'Content-Type: application/json' \
    -d '{"name":"syncline-stack"}')" || fail "creating the secured node's API key failed" "$N_LOG"
  (umask 077; echo "$body" | grep -oE '"encoded":"[^"]+"' | cut -d'"' -f4 > "$key")
  [ -s "$key" ] || fail "the secured node answered no API key: $body"
}

node_status() { # node
  local node="$1" body version health
  node_vars "$node"
  # (The integ-test distribution of Elasticsearch does not serve GET /.)
  if body="$(node_curl "$node" /_nodes/_local/none -m 3 2>/dev/null)"; then
    version="$(echo "$body" | grep -oE '"version":"[^"]+"' | head -n1 | cut -d'"' -f4)"
    health="$(node_curl "$node" /_cluster/health -m 3 | grep -oE '"status":"[a-z]+"' | cut -d'"' -f4)"
    printf '%-20s healthy   %-8s %s  cluster %s  log %s\n' "$node" "$version" "$N_URL" "$health" "$N_LOG"
    [ "$node" = elasticsearch-secure ] && printf '%-20s           API key %s  user syncline  password file %s  CA %s\n' "" \
      "$ES_SECURE_TLS/api-key" "$ES_SECURE_TLS/syncline.password" "$ES_SECURE_TLS/ca.pem"
    return 0
  else
    printf '%-20s down      %-8s %s  log %s\n' "$node" "$N_VERSION" "$N_URL" "$N_LOG"
    return 1
  fi
}

node_stop() { # node
  node_vars "$1"
  stop_pid "$N_PID" "$1"
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

# ---------------------------------------------------------------- the multi-node cluster
# Three KRaft Kafka nodes (broker + controller each; replication factor 3, min.insync.replicas 2) on
# 127.0.0.1:19092-19094 (controllers 19192-19194) and three Elasticsearch nodes on 127.0.0.1:9210-9212
# (transport 9310-9312), beside the single-node stack: the multi-node scenarios (./dev test cluster) run on it.
CLUSTER_DIR="$STATE/cluster"
CLUSTER_VOTERS="1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194"

kafka_cluster_start() { # n java_home
  local n="$1" dir="$CLUSTER_DIR/kafka-$1" log="$LOGS/kafka-cluster-$1.log"
  pid_alive "$dir/kafka.pid" && return
  ensure_port_free "$((19091 + n))" "kafka cluster node $n" "$dir/kafka.pid"
  ensure_port_free "$((19191 + n))" "kafka cluster controller $n" "$dir/kafka.pid"
  mkdir -p "$dir/data"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@VOTERS@|$CLUSTER_VOTERS|g" -e "s|@PORT@|$((19091 + n))|g" \
    -e "s|@CONTROLLER_PORT@|$((19191 + n))|g" -e "s|@DATA@|$dir/data|g" \
    "$ROOT/stack/kafka/cluster.properties" > "$dir/server.properties"
  sed -e "s|@LOG@|$log|g" "$ROOT/stack/kafka/log4j.properties" > "$dir/log4j.properties"
  touch "$log"
  local java=("$2/bin/java" -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$dir/log4j.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$(cat "$CLUSTER_DIR/kafka-cluster-id")" -c "$dir/server.properties" \
      >>"$log" 2>&1 || fail "formatting Kafka cluster node $n failed" "$log"
  fi
  wc -l < "$log" > "$dir/log-from"
  info "starting Kafka cluster node $n on 127.0.0.1:$((19091 + n))"
  nohup "${java[@]}" -Xms512m -Xmx512m -XX:+UseG1GC kafka.Kafka "$dir/server.properties" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! > "$dir/kafka.pid"
}

kafka_cluster_wait() { # n
  local n="$1" dir="$CLUSTER_DIR/kafka-$1" log="$LOGS/kafka-cluster-$1.log" i
  for i in $(seq 1 "$HEALTH_TIMEOUT"); do
    pid_alive "$dir/kafka.pid" || fail "Kafka cluster node $n exited during start-up" "$log"
    if port_open "$((19091 + n))" && [ "$(tail -n "+$(( $(cat "$dir/log-from" 2>/dev/null || echo 0) + 1 ))" "$log" | grep -c 'Kafka Server started')" -gt 0 ]; then return; fi
    sleep 1
  done
  fail "Kafka cluster node $n did not become healthy within ${HEALTH_TIMEOUT}s" "$log"
}

cluster_up() {
  local java_home n
  java_home="$(kafka_java_home)" || exit 1
  kafka_provision
  mkdir -p "$CLUSTER_DIR"
  if [ ! -s "$CLUSTER_DIR/kafka-cluster-id" ]; then
    "$java_home/bin/java" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid > "$CLUSTER_DIR/kafka-cluster-id" 2>/dev/null
  fi
  for n in 1 2 3; do kafka_cluster_start "$n" "$java_home"; done
  for n in 1 2 3; do node_start "es-cluster-$n"; done
  for n in 1 2 3; do kafka_cluster_wait "$n"; done
  for n in 1 2 3; do node_wait "es-cluster-$n"; done
  # Healthy: all three nodes in one cluster.
  local formed=""
  for n in $(seq 1 "$HEALTH_TIMEOUT"); do
    if curl -fsS -m 2 "http://127.0.0.1:9210/_cluster/health?wait_for_nodes=3&timeout=1s" >/dev/null 2>&1; then formed=1; break; fi
    sleep 1
  done
  [ -n "$formed" ] || fail "the three Elasticsearch nodes did not form one cluster within ${HEALTH_TIMEOUT}s" "$(es_dir)/../cluster/es-cluster-1/logs/syncline-cluster.log"
  cluster_status
}

cluster_status() {
  local n rc=0 nodes
  for n in 1 2 3; do
    if pid_alive "$CLUSTER_DIR/kafka-$n/kafka.pid" && port_open "$((19091 + n))"; then
      echo "kafka-$n              healthy   $KAFKA_VERSION    127.0.0.1:$((19091 + n))  pid $(cat "$CLUSTER_DIR/kafka-$n/kafka.pid")  log $LOGS/kafka-cluster-$n.log"
    else
      echo "kafka-$n              down      $KAFKA_VERSION    127.0.0.1:$((19091 + n))"; rc=1
    fi
  done
  for n in 1 2 3; do
    node_vars "es-cluster-$n"
    nodes="$(curl -fsS -m 3 "$N_URL/_cluster/health" 2>/dev/null | grep -oE '"number_of_nodes":[0-9]+' | cut -d: -f2 || true)"
    if pid_alive "$N_PID" && [ "$nodes" = 3 ]; then
      echo "es-cluster-$n         healthy   $ES_VERSION    $N_URL  pid $(cat "$N_PID")  $nodes nodes  log $N_LOG"
    else
      echo "es-cluster-$n         down      $ES_VERSION    $N_URL  ${nodes:-no} nodes in its cluster"; rc=1
    fi
  done
  return "$rc"
}

cluster_down() {
  local n
  for n in 1 2 3; do stop_pid "$CLUSTER_DIR/kafka-$n/kafka.pid" "kafka cluster node $n"; done
  for n in 1 2 3; do node_stop "es-cluster-$n"; done
}

# The services 'up' starts: the default pipeline's, or those named (all = every one, the tests' set).
DEFAULT_SERVICES="postgres kafka elasticsearch"
services_of() {
  local want="${*:-$DEFAULT_SERVICES}" s
  [ "$want" = all ] && want="postgres kafka $SEARCH_NODES"
  for s in $want; do
    case "$s" in postgres|kafka|elasticsearch|elasticsearch-secure|opensearch) ;; *) fail "unknown service '$s' (postgres, kafka, $SEARCH_NODES, all)" ;; esac
  done
  echo "$want"
}

cmd="${1:-status}"
shift || true
case "$cmd" in
  up)
    with_lock
    wanted="$(services_of "$@")"
    for s in $wanted; do
      case "$s" in postgres) pg_up ;; kafka) kafka_up ;; *) node_up "$s" ;; esac
    done
    status_ok=0
    for s in $wanted; do
      case "$s" in postgres) pg_status ;; kafka) kafka_status ;; *) node_status "$s" ;; esac || status_ok=1
    done
    exit "$status_ok"
    ;;
  cluster)
    with_lock
    case "${1:-status}" in
      up) cluster_up ;;
      down) cluster_down ;;
      status) cluster_status ;;
      *) fail "cluster takes up, down or status" ;;
    esac
    ;;
  down)
    with_lock
    cluster_down
    stop_pid "$KAFKA_PID" kafka
    for s in $SEARCH_NODES; do node_stop "$s"; done
    if [ -f "$STATE/postgres.started-by-stack" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main stop || true
      rm -f "$STATE/postgres.started-by-stack"
    fi
    ;;
  stop)
    # One service, for fault-injection tests; 'up' starts it again.
    with_lock
    case "${1:-}" in
      kafka) stop_pid "$KAFKA_PID" kafka ;;
      elasticsearch|elasticsearch-secure|opensearch) node_stop "$1" ;;
      *) fail "stop takes kafka, elasticsearch, elasticsearch-secure or opensearch" ;;
    esac
    ;;
  status)
    rc=0
    pg_status || rc=1
    kafka_status || rc=1
    for s in $SEARCH_NODES; do
      node_vars "$s"
      # The optional nodes are listed when they run or ran here.
      if [ "$s" = elasticsearch ] || [ -d "$N_DIR" ]; then node_status "$s" || rc=1; fi
    done
    exit "$rc"
    ;;
  logs)
    case "${1:-all}" in
      postgres) tail -n 100 "/var/log/postgresql/postgresql-$(ls /etc/postgresql | sort -V | tail -n1)-main.log" ;;
      kafka) tail -n 100 "$LOGS/kafka.log" ;;
      elasticsearch|elasticsearch-secure|opensearch) node_vars "$1"; tail -n 100 "$N_LOG" ;;
      all) for f in "$LOGS/kafka.log" $(for s in $SEARCH_NODES; do node_vars "$s"; echo "$N_LOG"; done); do
          [ -f "$f" ] || continue; echo "==> $f"; tail -n 40 "$f" 2>/dev/null || true; done ;;
      *) fail "unknown service '$1' (postgres, kafka, $SEARCH_NODES)" ;;
    esac
    ;;
  env)
    echo "export SYNCLINE_PG_URL=postgres://postgres@$PG_HOST:$PG_PORT/syncline"
    echo "export SYNCLINE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    echo "export SYNCLINE_ES_URL=http://127.0.0.1:$ES_PORT"
    echo "# OpenSearch instead (stack.sh up opensearch):"
    echo "#   export SYNCLINE_SEARCH_ENGINE=opensearch SYNCLINE_ES_URL=http://127.0.0.1:$OS_PORT"
    echo "# the secured Elasticsearch node instead (stack.sh up elasticsearch-secure):"
    echo "#   export SYNCLINE_ES_URL=https://127.0.0.1:$ES_SECURE_PORT SYNCLINE_ES_CA_FILE=$ES_SECURE_TLS/ca.pem SYNCLINE_ES_API_KEY_FILE=$ES_SECURE_TLS/api-key"
    ;;
  *)
    fail "unknown command '$cmd' (up, down, stop, status, logs, env)"
    ;;
esac
