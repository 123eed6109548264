#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free port, its address in
# RESETBOT_TEST_REDIS. Installs redis-server with apt-get where it is missing and
# that is possible.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing: installing it with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  fi
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run again" >&2
  exit 1
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $(( (RANDOM % 20000) + 30000 )))
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --daemonize no --loglevel warning >"$dir/log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/log" >&2; echo "redis-server failed to start" >&2; exit 1; fi
  sleep 0.1
done
export RESETBOT_TEST_REDIS="127.0.0.1:$port"
"$@"
