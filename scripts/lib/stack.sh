# Shared by scripts/run, scripts/test and scripts/bench: install what is missing, build, and start
# or stop a whole stack (PostgreSQL, Redis, workers, gateways, nginx) inside one run folder, on
# loopback. Source it; every function prints what it does and fails with a sentence saying what
# to do next.

STREAMBED_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STREAMBED_BUILD_DIR=${STREAMBED_BUILD_DIR:-$STREAMBED_ROOT/build}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() {
    printf '\033[31mstreambed: %s\033[0m\n' "$*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Packages --------------------------------------------------------------------------------

STREAMBED_PACKAGES=(build-essential cmake pkg-config libfcgi-dev libfcgi-bin libpoco-dev libpq-dev
    libhiredis-dev libcpp-jwt-dev rapidjson-dev libboost-test-dev libssl-dev libgraphicsmagick++1-dev nginx
    redis-server postgresql openssl curl)

install_packages() {
    local wanted=("${STREAMBED_PACKAGES[@]}" "$@") missing=() p
    command -v node >/dev/null 2>&1 || wanted+=(nodejs npm)
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        step "Debian packages: all present"
        return
    fi
    step "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq || fail "apt-get update failed: check the network and /etc/apt/sources.list"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || fail "apt-get install failed for: ${missing[*]}"
}

# --- Build -----------------------------------------------------------------------------------

build() {
    local type=${STREAMBED_BUILD_TYPE:-Release}
    step "Building ($type) in ${STREAMBED_BUILD_DIR#$STREAMBED_ROOT/}"
    local log=$STREAMBED_BUILD_DIR.log
    mkdir -p "$STREAMBED_BUILD_DIR"
    if ! { cmake -S "$STREAMBED_ROOT" -B "$STREAMBED_BUILD_DIR" -DCMAKE_BUILD_TYPE="$type" ${STREAMBED_CMAKE_ARGS:-} \
        && cmake --build "$STREAMBED_BUILD_DIR" -j "$(nproc)"; } >"$log" 2>&1; then
        tail -30 "$log" >&2
        fail "the build failed; the whole log is in $log"
    fi
}

# npm packages for a folder with a package.json (tests/, web/), installed only when missing.
npm_install() {
    local dir=$1
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package.json" ]; then
        return
    fi
    step "Installing npm packages in ${dir#$STREAMBED_ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$dir/npm-install.log") \
        || { cat "$dir/npm-install.log" >&2; fail "npm ci failed in $dir"; }
}

# The demo chat app (web/): its npm packages and a production build into web/dist, which nginx
# serves at /. Rebuilt only when a source is newer than the last build.
build_web() {
    local web=$STREAMBED_ROOT/web
    [ -f "$web/package.json" ] || return 0
    npm_install "$web"
    if [ -f "$web/dist/index.html" ] && [ -z "$(find "$web/index.html" "$web/vite.config.js" "$web/package-lock.json" \
        "$web/public" "$web/src" "$web/seed" -newer "$web/dist/index.html" -print -quit 2>/dev/null)" ]; then
        step "Demo app (web/): up to date"
        return
    fi
    step "Building the demo app (web/)"
    (cd "$web" && npm run --silent build >"$web/build.log" 2>&1) || fail "the demo app did not build; see web/build.log"
}

# The demo's seed data (web/seed/): users, and channels with members and history. Idempotent, so
# it runs on every start; needs a healthy stack.
seed_demo() {
    [ -f "$STREAMBED_ROOT/web/seed/seed.mjs" ] || return 0
    step "Seeding the demo data (web/seed/)"
    (cd "$STREAMBED_ROOT/web" && STREAMBED_URL=$STREAMBED_URL node seed/seed.mjs) >"$RUN/logs/seed.log" 2>&1 \
        || { cat "$RUN/logs/seed.log" >&2; fail "seeding the demo data failed; see $RUN/logs/seed.log"; }
    note "$(tail -1 "$RUN/logs/seed.log")"
}

# --- Configuration of one stack --------------------------------------------------------------
# Inputs (environment): STREAMBED_RUN_DIR, STREAMBED_HTTP_PORT, STREAMBED_HTTPS_PORT,
# STREAMBED_GATEWAY_PORT (first gateway; the others follow), STREAMBED_GATEWAYS, STREAMBED_WORKERS,
# STREAMBED_DEV, STREAMBED_API_KEY, STREAMBED_API_SECRET, STREAMBED_LOG_LEVEL, STREAMBED_VAPID_SUBJECT,
# STREAMBED_UPLOAD_MAX_BYTES.

stack_configure() {
    RUN=${STREAMBED_RUN_DIR:-$STREAMBED_ROOT/.run}
    HTTP_PORT=${STREAMBED_HTTP_PORT:-8080}
    HTTPS_PORT=${STREAMBED_HTTPS_PORT:-8443}
    GATEWAY_PORT=${STREAMBED_GATEWAY_PORT:-$((HTTP_PORT + 100))}
    GATEWAYS=${STREAMBED_GATEWAYS:-2}
    mkdir -p "$RUN"/{logs,pids,pg,redis,nginx,tls,uploads}
    RUN=$(cd "$RUN" && pwd)
    # Unix socket paths are limited to 107 bytes.
    [ ${#RUN} -le 80 ] || fail "the run folder path is too long for unix sockets: set STREAMBED_RUN_DIR to a shorter path"
    chmod 755 "$RUN"

    # The API key and secret are generated once per run folder and kept there (mode 600).
    local secrets=$RUN/secrets.env
    if [ ! -f "$secrets" ]; then
        umask 077
        {
            echo "STREAMBED_API_KEY=${STREAMBED_API_KEY:-$(openssl rand -hex 8)}"
            echo "STREAMBED_API_SECRET=${STREAMBED_API_SECRET:-$(openssl rand -hex 32)}"
        } >"$secrets"
        umask 022
    fi
    # Values given in the environment win over the stored ones.
    local key=${STREAMBED_API_KEY:-} secret=${STREAMBED_API_SECRET:-}
    # shellcheck disable=SC1090
    . "$secrets"
    [ -n "$key" ] && STREAMBED_API_KEY=$key
    [ -n "$secret" ] && STREAMBED_API_SECRET=$secret

    export STREAMBED_API_KEY STREAMBED_API_SECRET
    export STREAMBED_DEV=${STREAMBED_DEV:-1}
    export STREAMBED_PG="host=$RUN/pg port=5432 dbname=streambed user=streambed"
    export STREAMBED_REDIS="unix:$RUN/redis/redis.sock"
    export STREAMBED_WORKERS=${STREAMBED_WORKERS:-4}
    export STREAMBED_FCGI_SOCKET=$RUN/api.sock
    export STREAMBED_API_URL=http://127.0.0.1:$HTTP_PORT
    export STREAMBED_SQL_DIR=$STREAMBED_ROOT/sql
    export STREAMBED_LOG_LEVEL=${STREAMBED_LOG_LEVEL:-info}
    # The contact push services see in VAPID tokens (docs/push.md); set a real one in production.
    export STREAMBED_VAPID_SUBJECT=${STREAMBED_VAPID_SUBJECT:-mailto:streambed@localhost}
    # The push sender's Prometheus endpoint, on a port of this stack's own range.
    export STREAMBED_PUSH_METRICS_LISTEN=127.0.0.1:$((HTTP_PORT + 9))
    # Uploaded files live in the run folder, served by nginx under /uploads/ (docs/uploads.md).
    export STREAMBED_UPLOAD_DIR=$RUN/uploads
    export STREAMBED_UPLOAD_MAX_BYTES=${STREAMBED_UPLOAD_MAX_BYTES:-104857600}
    STREAMBED_URL=http://127.0.0.1:$HTTP_PORT
    export STREAMBED_URL
}

# --- Services --------------------------------------------------------------------------------

wait_until() {  # wait_until <seconds> <description> <command...>
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_postgres() {
    local data=$RUN/pg/data
    local runas=()
    [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN/pg"
    if [ ! -f "$data/PG_VERSION" ]; then
        step "PostgreSQL: creating the cluster in ${data#$STREAMBED_ROOT/}"
        "${runas[@]}" "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N \
            >"$RUN/logs/initdb.log" 2>&1 || fail "initdb failed; see $RUN/logs/initdb.log (every folder above the run folder must be readable by the postgres user)"
    fi
    if ! "${runas[@]}" "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        step "PostgreSQL: starting"
        touch "$RUN/logs/postgres.log"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN/logs/postgres.log"
        # Unix socket only: nothing listens on TCP, so no port can clash.
        "${runas[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$RUN/logs/postgres.log" -w -t 30 \
            -o "-p 5432 -k $RUN/pg -c listen_addresses='' -c max_connections=300 ${STREAMBED_PG_OPTIONS:-}" start \
            >/dev/null || fail "PostgreSQL did not start; see $RUN/logs/postgres.log"
    fi
    psql -h "$RUN/pg" -p 5432 -U postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<'SQL' || fail "could not create the streambed database"
SELECT 'CREATE ROLE streambed LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'streambed')\gexec
SELECT 'CREATE DATABASE streambed OWNER streambed' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'streambed')\gexec
SQL
}

start_redis() {
    if pid_alive "$RUN/pids/redis.pid"; then return; fi
    step "Redis: starting"
    cat >"$RUN/redis/redis.conf" <<CONF
port 0
unixsocket $RUN/redis/redis.sock
unixsocketperm 700
dir $RUN/redis
daemonize yes
pidfile $RUN/pids/redis.pid
logfile $RUN/logs/redis.log
# Drafts live in Redis for 30 days: keep them across restarts.
appendonly yes
appendfsync everysec
save ""
maxclients 10000
CONF
    redis-server "$RUN/redis/redis.conf" || fail "Redis did not start; see $RUN/logs/redis.log"
    wait_until 10 redis redis-cli -s "$RUN/redis/redis.sock" ping || fail "Redis did not answer; see $RUN/logs/redis.log"
}

migrate() {
    step "Migrations"
    "$STREAMBED_BUILD_DIR/fcgi-app/streambed-api" migrate >>"$RUN/logs/migrate.log" 2>&1 \
        || { tail -5 "$RUN/logs/migrate.log" >&2; fail "migrations failed; see $RUN/logs/migrate.log"; }
}

start_api() {
    if pid_alive "$RUN/pids/api.pid"; then return; fi
    step "REST workers: $STREAMBED_WORKERS FastCGI processes"
    setsid "$STREAMBED_BUILD_DIR/fcgi-app/streambed-api" serve >>"$RUN/logs/api.log" 2>&1 </dev/null &
    echo $! >"$RUN/pids/api.pid"
    wait_until 10 "api socket" test -S "$STREAMBED_FCGI_SOCKET" || fail "the workers did not start; see $RUN/logs/api.log"
}

# streambed-push announces itself in Redis (keys::kPushAlive) once it has recovered its queue.
push_alive() {
    [ "$(redis-cli -s "$RUN/redis/redis.sock" GET sb:push:alive 2>/dev/null)" = "$(cat "$RUN/pids/push.pid" 2>/dev/null)" ]
}

start_push() {
    if pid_alive "$RUN/pids/push.pid"; then return; fi
    step "Web Push delivery (streambed-push)"
    setsid "$STREAMBED_BUILD_DIR/push/streambed-push" >>"$RUN/logs/push.log" 2>&1 </dev/null &
    echo $! >"$RUN/pids/push.pid"
    wait_until 10 push push_alive || fail "streambed-push did not start; see $RUN/logs/push.log"
}

start_gateways() {
    local i port
    for ((i = 0; i < GATEWAYS; i++)); do
        port=$((GATEWAY_PORT + i))
        if pid_alive "$RUN/pids/gateway-$i.pid"; then continue; fi
        step "WebSocket gateway $((i + 1)) of $GATEWAYS on 127.0.0.1:$port and ${RUN#$STREAMBED_ROOT/}/gateway-$i.sock"
        # nginx relays over the Unix socket (less than half the CPU per frame of loopback TCP);
        # the TCP port is for clients that skip nginx (scripts/bench's "straight to the gateways").
        STREAMBED_GATEWAY_LISTEN="127.0.0.1:$port,$RUN/gateway-$i.sock" setsid "$STREAMBED_BUILD_DIR/ws-gateway/streambed-gateway" \
            >>"$RUN/logs/gateway-$i.log" 2>&1 </dev/null &
        echo $! >"$RUN/pids/gateway-$i.pid"
    done
    for ((i = 0; i < GATEWAYS; i++)); do
        port=$((GATEWAY_PORT + i))
        wait_until 10 gateway bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && test -S $RUN/gateway-$i.sock" \
            || fail "gateway $((i + 1)) did not start; see $RUN/logs/gateway-$i.log"
    done
}

render() {  # render <template> <output>: fills the @NAME@ values of the nginx templates
    local servers="" i
    for ((i = 0; i < GATEWAYS; i++)); do servers+="        server unix:$RUN/gateway-$i.sock max_fails=1 fail_timeout=5s;"$'\n'; done
    local user=""
    [ "$(id -u)" -eq 0 ] && user="user root;"
    local web_root=$STREAMBED_ROOT/web/dist
    [ -d "$web_root" ] || web_root=$RUN/nginx/empty
    mkdir -p "$RUN/nginx/empty"
    awk -v run="$RUN" -v http="$HTTP_PORT" -v https="$HTTPS_PORT" -v fcgi="$STREAMBED_FCGI_SOCKET" \
        -v servers="$servers" -v user="$user" -v web="$web_root" -v workers="${STREAMBED_NGINX_WORKERS:-2}" \
        -v rate="${STREAMBED_NGINX_RATE:-5000}" -v burst="${STREAMBED_NGINX_BURST:-10000}" \
        -v apikey="$STREAMBED_API_KEY" -v dev="$(case $STREAMBED_DEV in 1 | true | yes) echo true ;; *) echo false ;; esac)" \
        -v uploads="$STREAMBED_UPLOAD_DIR" -v upload_limit="$((STREAMBED_UPLOAD_MAX_BYTES + 1048576))" '
        { gsub(/@RUN@/, run); gsub(/@HTTP_PORT@/, http); gsub(/@HTTPS_PORT@/, https); gsub(/@FCGI_SOCKET@/, fcgi);
          gsub(/@NGINX_USER@/, user); gsub(/@WEB_ROOT@/, web); gsub(/@NGINX_WORKERS@/, workers);
          gsub(/@RATE@/, rate); gsub(/@BURST@/, burst); gsub(/@API_KEY@/, apikey); gsub(/@DEV@/, dev);
          gsub(/@UPLOAD_DIR@/, uploads); gsub(/@UPLOAD_BODY_LIMIT@/, upload_limit);
          if ($0 ~ /@GATEWAY_SERVERS@/) { printf "%s", servers; next }
          print }' "$1" >"$2"
}

start_nginx() {
    if pid_alive "$RUN/nginx/nginx.pid"; then return; fi
    if [ ! -f "$RUN/tls/cert.pem" ]; then
        step "TLS: making a self-signed certificate for localhost"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" \
            >/dev/null 2>&1 || fail "openssl could not make a certificate"
        chmod 600 "$RUN/tls/key.pem"
    fi
    step "nginx on http://127.0.0.1:$HTTP_PORT and https://127.0.0.1:$HTTPS_PORT"
    local t
    for t in nginx server; do
        render "$STREAMBED_ROOT/nginx/$t.conf.template" "$RUN/nginx/$t.conf"
    done
    # The rules shared with production (nginx/production/) are included as they are.
    rm -rf "$RUN/nginx/common"
    cp -r "$STREAMBED_ROOT/nginx/common" "$RUN/nginx/common"
    nginx -t -q -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2>"$RUN/logs/nginx-test.log" \
        || { cat "$RUN/logs/nginx-test.log" >&2; fail "the nginx configuration is invalid"; }
    nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2>>"$RUN/logs/nginx-error.log" \
        || fail "nginx did not start (is port $HTTP_PORT or $HTTPS_PORT taken?); see $RUN/logs/nginx-error.log"
}

wait_healthy() {
    step "Waiting for $STREAMBED_URL/api/health/"
    wait_until "${1:-30}" health curl -fsS -o /dev/null "$STREAMBED_URL/api/health/" \
        || { curl -sS "$STREAMBED_URL/api/health/" >&2; echo >&2; fail "the stack is not healthy; the logs are in $RUN/logs"; }
}

stack_start() {
    stack_configure
    start_postgres
    start_redis
    migrate
    start_api
    start_push
    start_gateways
    start_nginx
    wait_healthy
}

stop_pid() {  # stop_pid <pidfile> <signal> <name>
    local file=$1 sig=$2 name=$3 pid i
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        note "stopping $name"
        kill -"$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

stack_stop() {
    RUN=${STREAMBED_RUN_DIR:-$STREAMBED_ROOT/.run}
    [ -d "$RUN" ] || return 0
    step "Stopping the stack in ${RUN#$STREAMBED_ROOT/}"
    stop_pid "$RUN/nginx/nginx.pid" QUIT nginx
    local f
    for f in "$RUN"/pids/gateway-*.pid; do [ -e "$f" ] && stop_pid "$f" TERM "gateway"; done
    stop_pid "$RUN/pids/api.pid" TERM "REST workers"
    stop_pid "$RUN/pids/push.pid" TERM "Web Push delivery"
    stop_pid "$RUN/pids/redis.pid" TERM redis
    if [ -f "$RUN/pg/data/postmaster.pid" ]; then
        note "stopping PostgreSQL"
        local runas=()
        [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
        "${runas[@]}" "$PG_BIN/pg_ctl" -D "$RUN/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

# A base port with ten free ports after it, for a stack that must not disturb another.
free_port_base() {
    local base p busy
    # Below the kernel's ephemeral range (32768 and up): a port there can be taken at any moment as
    # the local end of an outgoing connection (a load test makes tens of thousands), and a
    # listener that finds its port taken fails to start.
    for base in $(shuf -i 200-320 -n 40); do
        # Not 30300: the stream-chat SDK turns any base URL containing ":3030" (its own local
        # development port) into a WebSocket URL on ":8800", here ws://127.0.0.1:88000.
        [ "$base" = 303 ] && continue
        base=$((base * 100))
        busy=0
        for ((p = base; p < base + 10; p++)); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy=1; break; fi
        done
        [ $busy -eq 0 ] && { echo "$base"; return; }
    done
    fail "no free ports found on 127.0.0.1"
}
