#!/usr/bin/env bash
# The main job. Installs what is missing, builds a release build, starts
# eventmesh-server on an embedded LMDB store in ./data, and shows a first
# publish and subscribe through eventmesh-cli. The server then keeps
# running until Ctrl-C.
#
# EVENTMESH_LISTEN (default 127.0.0.1:10000) picks the native TCP address;
# EVENTMESH_RUN_ONCE=1 stops the server after the demonstration.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
tools/build.sh release

tools_dir=build/release/tools
server=$tools_dir/eventmesh-server/eventmesh-server
cli=$tools_dir/eventmesh-cli/eventmesh-cli
listen=${EVENTMESH_LISTEN:-127.0.0.1:10000}
url=tcp://$listen

"$server" --listen "$listen" --data ./data &
server_pid=$!
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT

# Wait until the server answers.
for _ in $(seq 100); do
  "$cli" --url "$url" stats >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server failed" >&2; exit 1; }
  sleep 0.1
done

echo
echo "=== publishing three events to demo.greeting (prints the sequences)"
first=""
for i in 1 2 3; do
  seq=$("$cli" --url "$url" pub demo.greeting "hello $i" --source /run.sh \
        --type demo.greeting)
  echo "$seq"
  first=${first:-$seq}
done

echo
echo "=== subscribing to demo.> from sequence $first"
"$cli" --url "$url" sub 'demo.>' --from "$first" --count 3 --timeout 10

echo
echo "=== topics"
"$cli" --url "$url" topics

echo
if [ "${EVENTMESH_RUN_ONCE:-}" = "1" ]; then
  echo "=== stopping eventmesh-server"
  exit 0
fi
echo "=== eventmesh-server is running on $url with data in ./data;" \
     "Ctrl-C stops it"
wait "$server_pid"
