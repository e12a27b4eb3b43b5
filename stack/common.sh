# Shell helpers shared by stack/stack.sh and bench/debezium.sh (sourced; LOG_PREFIX names the caller).

fail() {
  echo "$LOG_PREFIX: $1" >&2
  [ -n "${2:-}" ] && echo "$LOG_PREFIX: see $2" >&2
  exit 1
}
info() { echo "$LOG_PREFIX: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A killed process whose parent has not reaped it yet is a zombie: gone, though kill -0 still finds it.
pid_alive() {
  [ -f "$1" ] || return 1
  local pid; pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}

# Who listens on a port (for messages), e.g. "java pid 123".
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -oE 'users:\(\("[^"]+",pid=[0-9]+' | head -n1 | sed 's/users:(("//; s/",pid=/ pid /'; }

java_major() { "$1" -version 2>&1 | head -n1 | sed -E 's/.*version "([0-9]+).*/\1/'; }

# The newest JDK on the machine whose major version is between $1 and $2 (default: any).
find_java_home() {
  local min="$1" max="${2:-999}" best="" best_major=0 j m
  for j in ${JAVA_HOME:+$JAVA_HOME} /usr/lib/jvm/*; do
    [ -x "$j/bin/java" ] || continue
    m="$(java_major "$j/bin/java")"
    [[ "$m" =~ ^[0-9]+$ ]] || continue
    if [ "$m" -ge "$min" ] && [ "$m" -le "$max" ] && [ "$m" -gt "$best_major" ]; then best="$j"; best_major="$m"; fi
  done
  echo "$best"
}

mvn_fetch() { # log, mvn args...
  local log="$1"; shift
  command -v mvn >/dev/null 2>&1 || fail "Maven (mvn) is needed to fetch from Maven Central and is not on PATH"
  if ! mvn -B "$@" >"$log" 2>&1; then
    local why
    why="$(grep -m1 -E 'Could not (resolve|transfer|find)|Unknown host|Connection refused|timed out|Non-resolvable' "$log" || true)"
    fail "could not fetch from Maven Central${why:+: $why}" "$log"
  fi
}
