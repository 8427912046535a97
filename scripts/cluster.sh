#!/usr/bin/env bash
# MitTts cluster mode on one machine, without Docker: redis-server, 2 silos (MITTTS_SILOS), 2 gateways (Orleans clients)
# and nginx load-balancing REST and WebSocket across the gateways, all on 127.0.0.1.
#   scripts/cluster.sh start     builds (Release), starts everything, waits until /health answers through nginx and each gateway is ready
#   scripts/cluster.sh status    which processes run, and /health through nginx
#   scripts/cluster.sh stop      stops everything it started (pids in the state dir)
# Ports and paths (environment): MIT_TTS_HTTP_PORT=8000 (nginx), MITTTS_REDIS_PORT=6390,
# MITTTS_GATEWAY_HTTP_PORTS="8101 8102", MITTTS_SILO_PORTS="11111 11112", MITTTS_SILO_GATEWAY_PORTS="30000 30001",
# MITTTS_SILO_METRICS_PORTS="9101 9102" (each silo's own /metrics; gateways serve theirs on their HTTP port),
# MITTTS_STATE_DIR=.cluster (logs, pids, redis data, nginx config), MITTTS_BUILD=1 (0: use what is built),
# MITTTS_SILOS=2 (how many silos: silo-a, silo-b, ...; ports beyond the lists count up from the last one).
# Every other MIT_TTS_* variable in the environment reaches the silos and gateways (e.g. MIT_TTS_CACHE_SIZE=0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${MITTTS_STATE_DIR:-$root/.cluster}
http_port=${MIT_TTS_HTTP_PORT:-8000}
redis_port=${MITTTS_REDIS_PORT:-6390}
read -r -a gateway_ports <<<"${MITTTS_GATEWAY_HTTP_PORTS:-8101 8102}"
read -r -a silo_ports <<<"${MITTTS_SILO_PORTS:-11111 11112}"
read -r -a silo_gateway_ports <<<"${MITTTS_SILO_GATEWAY_PORTS:-30000 30001}"
read -r -a silo_metrics_ports <<<"${MITTTS_SILO_METRICS_PORTS:-9101 9102}"
silo_count=${MITTTS_SILOS:-2}
[[ $silo_count =~ ^[1-9][0-9]*$ && $silo_count -le 26 ]] || { echo "MITTTS_SILOS must be 1 to 26, not '$silo_count'" >&2; exit 2; }
for ((i = ${#silo_ports[@]}; i < silo_count; i++)); do silo_ports+=($((silo_ports[i - 1] + 1))); done
for ((i = ${#silo_gateway_ports[@]}; i < silo_count; i++)); do silo_gateway_ports+=($((silo_gateway_ports[i - 1] + 1))); done
for ((i = ${#silo_metrics_ports[@]}; i < silo_count; i++)); do silo_metrics_ports+=($((silo_metrics_ports[i - 1] + 1))); done
letters=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
config=${MITTTS_CONFIGURATION:-Release}
bin_silo=$root/Silo/bin/$config/net10.0
bin_gateway=$root/Gateway/bin/$config/net10.0
redis_url=redis://127.0.0.1:$redis_port
silo_names=()
for ((i = 0; i < silo_count; i++)); do silo_names+=("silo-${letters[$i]}"); done
names=("${silo_names[@]}" gateway-a gateway-b)

running() { [[ -f $state/$1.pid ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

# Starts a background process, recording its pid; $1 name, then the command.
launch() {
  local name=$1; shift
  if running "$name"; then echo "$name already running (pid $(cat "$state/$name.pid"))"; return; fi
  nohup "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  echo "$name started (pid $!, log $state/$name.log)"
}

wait_http() { # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fs -o /dev/null "$1"; do
    ((SECONDS < deadline)) || { echo "no answer from $1 after $2 s" >&2; return 1; }
    sleep 0.5
  done
}

render_nginx() {
  local servers="" port
  for port in "${gateway_ports[@]}"; do servers+="server 127.0.0.1:$port max_fails=1 fail_timeout=5s; "; done
  mkdir -p "$state/nginx/logs" "$state/nginx/tmp"
  sed -e "s|\${MITTTS_LISTEN}|127.0.0.1:$http_port|" -e "s|\${MITTTS_GATEWAYS}|$servers|" \
    "$root/deploy/nginx/mittts.conf.template" >"$state/nginx/mittts.conf"
  cat >"$state/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $state/nginx.pid.nginx;
error_log $state/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $state/nginx/logs/access.log;
    client_body_temp_path $state/nginx/tmp/body;
    proxy_temp_path $state/nginx/tmp/proxy;
    fastcgi_temp_path $state/nginx/tmp/fastcgi;
    uwsgi_temp_path $state/nginx/tmp/uwsgi;
    scgi_temp_path $state/nginx/tmp/scgi;
    include $state/nginx/mittts.conf;
}
CONF
}

start() {
  "$root/scripts/install-deps.sh" cluster
  export PATH=$PATH:/usr/sbin
  if [[ ${MITTTS_BUILD:-1} == 1 ]]; then
    dotnet build "$root/Silo/MitTts.Silo.csproj" -c "$config" -nologo -v quiet
    dotnet build "$root/Gateway/MitTts.Gateway.csproj" -c "$config" -nologo -v quiet
  fi
  mkdir -p "$state/redis"

  # Append-only file: membership, tasks and audio survive a Redis restart.
  launch redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$state/redis" --appendonly yes --save '' --maxmemory "${MITTTS_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy volatile-ttl
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.2; done

  local i letter
  for ((i = 0; i < silo_count; i++)); do
    letter=${letters[$i]}
    (cd "$bin_silo" && MIT_TTS_REDIS_URL=$redis_url MIT_TTS_NODE_NAME=silo-$letter MIT_TTS_ADVERTISED_IP=127.0.0.1 \
      MIT_TTS_SILO_PORT=${silo_ports[$i]} MIT_TTS_GATEWAY_PORT=${silo_gateway_ports[$i]} MIT_TTS_PROMETHEUS_PORT=${silo_metrics_ports[$i]} \
      launch "silo-$letter" dotnet MitTts.Silo.dll)
  done
  for i in 0 1; do
    letter=$([[ $i == 0 ]] && echo a || echo b)
    (cd "$bin_gateway" && MIT_TTS_REDIS_URL=$redis_url MIT_TTS_GATEWAY_MODE=client MIT_TTS_NODE_NAME=gateway-$letter \
      MIT_TTS_HOST=127.0.0.1 MIT_TTS_HTTP_PORT=${gateway_ports[$i]} MIT_TTS_WS_PORT=${gateway_ports[$i]} \
      launch "gateway-$letter" dotnet MitTts.Gateway.dll)
  done

  render_nginx
  launch nginx nginx -p "$state/nginx" -c "$state/nginx/nginx.conf"
  wait_http "http://127.0.0.1:$http_port/api/v1/health" 90
  # Ready as the balancer's users need it: each gateway has reached the silos and finished its warm-up (server:warm_up).
  for port in "${gateway_ports[@]}"; do
    wait_http "http://127.0.0.1:$port/api/v1/ready" 90 || echo "warning: the gateway on $port is not ready: $(curl -s "http://127.0.0.1:$port/api/v1/ready")" >&2
  done
  echo "MitTts cluster up: http://127.0.0.1:$http_port/api/v1 (WebSocket ws://127.0.0.1:$http_port/ws); logs in $state"
}

stop() {
  local name silos=()
  # Every silo with a pid file, whatever MITTTS_SILOS says now.
  for name in "$state"/silo-*.pid; do [[ -e $name ]] && silos+=("$(basename "$name" .pid)"); done
  for name in nginx gateway-b gateway-a "${silos[@]}" redis; do
    if running "$name"; then
      kill "$(cat "$state/$name.pid")" 2>/dev/null || true
      for _ in $(seq 50); do running "$name" || break; sleep 0.2; done
      running "$name" && kill -9 "$(cat "$state/$name.pid")" 2>/dev/null || true
      echo "$name stopped"
    fi
    rm -f "$state/$name.pid"
  done
}

status() {
  local name
  for name in redis "${names[@]}" nginx; do
    if running "$name"; then echo "$name running (pid $(cat "$state/$name.pid"))"; else echo "$name stopped"; fi
  done
  curl -s "http://127.0.0.1:$http_port/api/v1/health" && echo || echo "no answer on http://127.0.0.1:$http_port"
}

mkdir -p "$state"
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
