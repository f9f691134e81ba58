#!/usr/bin/env bash
# The local cluster launcher: bazel run //tools:cluster -- COMMAND
#   up [--dir D] [--base-port P] [--tls] [--sentinel] [--hosts]
#                                  start Redis (meta + cache), 3 directories,
#                                  5 stores in 3 zones, the replicator
#                                  and nginx in front of the directories; wait
#                                  until healthy; write the cluster file.
#                                  --tls: every RPC and PUB socket on
#                                  tls+tcp://localhost with mutual auth
#                                  (certificates by tools/certs in D/tls)
#                                  --sentinel: the metadata Redis as a
#                                  primary, a replica and three Redis
#                                  Sentinels; commits WAIT for the replica
#                                  --hosts: every process in a network
#                                  namespace of its own, hs-NAME, on a
#                                  bridge (root; docs/hosts.md); implies
#                                  --sentinel
#   down                           stop everything it started
#   status                         each process: running or not
#   logs NAME [-f]                 a process's log
#   kill NAME | start NAME         SIGKILL one process / start it again
# Names: redis-meta, redis-cache, directory-1..3, store-1..5, replicator, nginx
# (with --sentinel also redis-meta-replica-1, sentinel-1..3).
# Data, logs and pids live under one folder (default: the repo's .hs/);
# the Redis users' passwords in its secrets/ (one file per user, 0600).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runfiles="${RUNFILES_DIR:-${BASH_SOURCE[0]}.runfiles}/haystack_c"
[ -d "$runfiles" ] || runfiles="$(cd "$here/.." && pwd)/bazel-bin"
# The Redis settings and the cluster file's layout: the test harness's own
# (testing/redis-*.conf, testing/cluster.template), from the runfiles, or
# from the source tree when this script runs from there.
harness="$runfiles/testing"
[ -f "$harness/redis-meta.conf" ] || harness="$(cd "$here/.." && pwd)/testing"
repo="${BUILD_WORKSPACE_DIRECTORY:-$(git rev-parse --show-toplevel 2>/dev/null || pwd)}"
dir="${HS_CLUSTER_DIR:-$repo/.hs}"
base=7100
tls=0
sentinel=0
hosts=0

die() { echo "cluster: $*" >&2; exit 1; }

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

cmd="${1:-}"; [ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --base-port) base="$2"; shift 2 ;;
    --base-port=*) base="${1#--base-port=}"; shift ;;
    --tls) tls=1; shift ;;
    --sentinel) sentinel=1; shift ;;
    --hosts) hosts=1; sentinel=1; shift ;; # hosts: Redis survives a host
    -h|--help) usage; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

bin() { echo "$runfiles/$1"; }

# Ports, all on loopback, from one base so two clusters can coexist.
p_lb=$((base)); p_meta=$((base + 1)); p_cache=$((base + 2))
p_dir() { echo $((base + 10 + $1)); }        # directory-N RPC
p_dirpub() { echo $((base + 20 + $1)); }     # directory-N PUB
p_store() { echo $((base + 30 + $1)); }      # store-N RPC
p_storepub() { echo $((base + 40 + $1)); }   # store-N PUB
p_repl=$((base + 50)); p_replpub=$((base + 51))
# The web face (docs/web.md): every process's HTTP port, and nginx's
# photo cache in front of the stores.
p_web=$((base + 3))
p_dirhttp() { echo $((base + 60 + $1)); }    # directory-N HTTP
p_storehttp() { echo $((base + 70 + $1)); }  # store-N HTTP
p_replhttp=$((base + 80))
# How long a cache entry lives, in the cache Redis and in nginx's photo
# cache alike: the bound on a deleted photo's entry when a purge fails.
cache_ttl=1h

# With --tls every nng address below, tcp://127.0.0.1:PORT, becomes
# tls+tcp://localhost:PORT (in processes' options and the cluster file):
# the host is the DNS name every certificate carries (tools/certs), since
# Debian's nng (mbedTLS 2.28) does not match IP-address SANs. nginx passes
# TLS through to the directories untouched (stream proxy, no
# termination), so a client's handshake is with a directory itself.
tlsify() { # TEXT
  if [ "$tls" = 1 ]; then echo "${1//tcp:\/\/127.0.0.1:/tls+tcp://localhost:}"; else echo "$1"; fi
}

# The certificates (idempotent: kept across `up`s).
make_certs() {
  local certs="$runfiles/tools/certs"
  [ -x "$certs" ] || certs="$here/certs"
  "$certs" "$dir/tls" nginx >/dev/null # nginx.pem: the photo cache's https
}

# A process is its command line, saved so `start NAME` can run it again.
launch() { # NAME CMD...
  local name="$1"; shift
  case "$tls:$name" in # the process's certificate, by its name
    1:directory-*|1:store-*|1:replicator)
      set -- "${@//tcp:\/\/127.0.0.1:/tls+tcp://localhost:}"
      set -- "${@//--http=127.0.0.1:/--http=localhost:}" \
        --tls-ca="$dir/tls/ca.pem" --tls-cert="$dir/tls/$name.pem" ;;
  esac
  if [ "$hosts" = 1 ]; then
    local argv; hosts_prepare "$name"
    mapfile -t argv < <(hosts_argv "$name" "$@"); set -- "${argv[@]}"
  fi
  mkdir -p "$dir/run" "$dir/logs"
  printf '%q ' "$@" > "$dir/run/$name.cmd"
  nohup "$@" >>"$dir/logs/$name.log" 2>&1 &
  echo $! > "$dir/run/$name.pid"
}

dead() { ! alive "$1"; } # NAME

# A killed process nobody has reaped yet (a zombie) is not alive.
alive() { # NAME
  local f="$dir/run/$1.pid" p
  [ -f "$f" ] && p="$(cat "$f")" && kill -0 "$p" 2>/dev/null &&
    ! grep -q ') Z ' "/proc/$p/stat" 2>/dev/null
}

names() {
  echo redis-meta redis-cache
  sentinel_names
  for i in 1 2 3; do echo "directory-$i"; done
  for i in 1 2 3 4 5; do echo "store-$i"; done
  [ -x "$(bin replicator/replicatord)" ] && echo replicator
  echo nginx
}

wait_for() { # SECONDS DESCRIPTION COMMAND...
  local until=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || die "$what did not come up; see $dir/logs/"
    sleep 0.1
  done
}

# Redis users (testing/redis-*.acl): a random password per user, made once
# per cluster folder and kept, so a restart keeps them.
redis_users="admin directory replicator store client"
pwfile() { echo "$dir/secrets/$1.password"; }

make_secrets() {
  local u
  (umask 077; mkdir -p "$dir/secrets"
   for u in $redis_users; do
     [ -s "$(pwfile "$u")" ] || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$(pwfile "$u")"
   done)
}

# NAME.acl of the harness with its comments dropped and each @USER@ the
# hash of USER's password (Redis keeps only the hash): NAME's users file.
write_acl() { # NAME [FOLDER]: FOLDER (default NAME) gets NAME's users
  local u h sub=""
  for u in $redis_users; do
    h="$(sha256sum < "$(pwfile "$u")" | cut -d' ' -f1)"
    sub="$sub;s/@${u^^}@/$h/g"
  done
  (umask 077; grep -v '^#' "$harness/$1.acl" | sed "${sub#;}" > "$dir/${2:-$1}/users.acl")
}

# redis-cli as the admin user; the password goes by environment, not argv.
redis_admin() { # PORT ARGS...
  local port="$1"; shift
  REDISCLI_AUTH="$(cat "$(pwfile admin)")" redis-cli --user admin \
    -h "$(hostify "127.0.0.1:$port" | cut -d: -f1)" -p "$port" "$@"
}

start_redis() { # NAME PORT: NAME.conf of the harness, here
  local name="$1" port="$2"
  mkdir -p "$dir/$name"
  make_secrets
  write_acl "${name%-replica-*}" "$name"
  launch "$name" redis-server "$(redis_conf "$name")" --port "$port" \
    --dir "$dir/$name" --aclfile "$dir/$name/users.acl"
  wait_for 10 "$name" redis_admin "$port" ping
}

# ---- --sentinel (docs/reliability.md, "Metadata that survives its Redis"):
# the metadata Redis as a primary (redis-meta), one replica and three
# Redis Sentinels; every process finds the primary through them, and the
# directories acknowledge a commit once the replica has it (WAIT 1; the
# primary takes no write without it). One replica, not two: with two, the
# sentinels may promote the one a commit did not wait for. Each instance's config file is
# made once in its folder (mode 0600: it holds the replication login) and
# then kept, since Redis and Sentinel rewrite theirs on a failover: the
# next `up` starts each in the role it had.
# The folder remembers the mode, so status, kill, start and down see the
# sentinel processes without the flag.
[ -f "$dir/run/sentinel" ] && sentinel=1
if [ "$sentinel" = 1 ] && [ "$cmd" = up ]; then mkdir -p "$dir/run"; touch "$dir/run/sentinel"; fi
p_meta_replica() { echo $((base + 4)); } # redis-meta-replica-1
p_sentinel() { echo $((base + 4 + $1)); }    # sentinel-N (base+5..7)

sentinel_names() {
  [ "$sentinel" = 1 ] && echo redis-meta-replica-1 sentinel-1 sentinel-2 sentinel-3
  return 0
}

meta_addr() { # what every process's --redis names
  if [ "$sentinel" = 1 ]; then
    echo "sentinel:127.0.0.1:$(p_sentinel 1),127.0.0.1:$(p_sentinel 2),127.0.0.1:$(p_sentinel 3)/meta"
  else
    echo "127.0.0.1:$p_meta"
  fi
}

wait_flag() { [ "$sentinel" = 1 ] && echo --redis-wait-replicas=1; return 0; }

redis_conf() { # NAME: the config file NAME starts from
  local conf="$dir/$1/redis.conf"
  case "$sentinel:$1" in
    1:redis-meta|1:redis-meta-replica-*) ;;
    *) echo "$harness/$1.conf"; return 0 ;;
  esac
  chmod 700 "$dir/$1" # a failover rewrites the file with umask's mode
  [ -s "$conf" ] || (umask 077; {
    cat "$harness/redis-meta.conf"
    echo "masteruser admin"
    echo "masterauth $(cat "$(pwfile admin)")"
    echo "min-replicas-to-write 1"
    echo "repl-diskless-sync-delay 0"
    [ "$1" != redis-meta ] && echo "replicaof $(addr_of redis-meta) $p_meta"
  } > "$conf")
  echo "$conf"
}

# A sentinel: admin may do anything (the sentinels log in to Redis and to
# each other as admin); every other user may only ask where the primary
# is, with the same password as at Redis.
start_sentinel() { # N
  local i="$1" d="$dir/sentinel-$1" u h
  mkdir -p "$d"; chmod 700 "$d" # Sentinel rewrites its file with umask's mode
  [ -s "$d/sentinel.conf" ] || (umask 077; {
    echo "port $(p_sentinel "$i")"; echo "bind $(addr_of "sentinel-$i")"; echo "dir $d"
    echo "sentinel monitor meta $(addr_of redis-meta) $p_meta 2"
    echo "sentinel auth-user meta admin"
    echo "sentinel auth-pass meta $(cat "$(pwfile admin)")"
    echo "sentinel down-after-milliseconds meta 5000"
    echo "sentinel failover-timeout meta 20000"
    echo "sentinel sentinel-user admin"
    echo "sentinel sentinel-pass $(cat "$(pwfile admin)")"
    echo "user default off"
    for u in $redis_users; do
      h="$(sha256sum < "$(pwfile "$u")" | cut -d' ' -f1)"
      if [ "$u" = admin ]; then echo "user admin on #$h ~* &* +@all"
      else echo "user $u on #$h -@all +sentinel|get-master-addr-by-name"; fi
    done
  } > "$d/sentinel.conf")
  launch "sentinel-$i" redis-server "$d/sentinel.conf" --sentinel
  wait_for 10 "sentinel-$i" redis_admin "$(p_sentinel "$i")" ping
}
# ---- end of --sentinel

dirs_csv() {
  local out="" i
  for i in 1 2 3; do out="$out${out:+,}tcp://127.0.0.1:$(p_dir $i)"; done
  echo "$out"
}

start_directory() { # N
  local i="$1"
  launch "directory-$i" "$(bin directory/directoryd)" --id="directory-$i" \
    --listen="tcp://127.0.0.1:$(p_dir "$i")" \
    --pub="tcp://127.0.0.1:$(p_dirpub "$i")" \
    --http="127.0.0.1:$(p_dirhttp "$i")" \
    --redis="$(meta_addr)" --redis-user=directory \
    --redis-password-file="$(pwfile directory)" $(wait_flag) \
    --cache-redis="127.0.0.1:$p_cache" --cache-redis-user=directory \
    --cache-redis-password-file="$(pwfile directory)" \
    --key-file="$dir/keys/directory.key" \
    --cache-ttl="$cache_ttl" --web-purge="$(web_url)"
}

# nginx's photo cache, as browsers and the directories' purges reach it.
web_url() {
  if [ "$tls" = 1 ]; then echo "https://localhost:$p_web"; else echo "http://127.0.0.1:$p_web"; fi
}

start_store() { # N
  local i="$1" zones=(a b c a b)
  mkdir -p "$dir/store-$i"
  launch "store-$i" "$(bin store/stored)" --id="$i" --zone="zone-${zones[$((i - 1))]}" \
    --listen="tcp://127.0.0.1:$(p_store "$i")" \
    --pub="tcp://127.0.0.1:$(p_storepub "$i")" \
    --http="127.0.0.1:$(p_storehttp "$i")" \
    --data-dir="$dir/store-$i" --directories="$(dirs_csv)" \
    --replicator="tcp://127.0.0.1:$p_repl" \
    --redis="$(meta_addr)" --redis-user=store \
    --redis-password-file="$(pwfile store)" \
    --cache-redis="127.0.0.1:$p_cache" --cache-redis-user=store \
    --cache-redis-password-file="$(pwfile store)" --key-file="$dir/keys/store-$i.key"
}

start_replicator() {
  launch replicator "$(bin replicator/replicatord)" \
    --listen="tcp://127.0.0.1:$p_repl" --pub="tcp://127.0.0.1:$p_replpub" \
    --http="127.0.0.1:$p_replhttp" \
    --redis="$(meta_addr)" --redis-user=replicator \
    --redis-password-file="$(pwfile replicator)" $(wait_flag) \
    --directories="$(dirs_csv)" --key-file="$dir/keys/replicator.key"
}

# nginx from the harness's testing/nginx.conf.template (the tests fill the
# same file): the directories' RPC balanced on p_lb, the photo cache on
# p_web. With --tls the directories and stores speak https: nginx checks
# them against the cluster's CA under their certificates' name.
start_nginx() {
  local i rpc="" http="" tmpl scheme=http ptls="" ssl="" wtls=""
  mkdir -p "$dir/nginx/tmp" "$dir/logs"
  for i in 1 2 3; do
    rpc="$rpc    server 127.0.0.1:$(p_dir "$i") max_fails=1 fail_timeout=1s;"$'\n'
    http="$http    server 127.0.0.1:$(p_dirhttp "$i") max_fails=1 fail_timeout=1s;"$'\n'
  done
  if [ "$tls" = 1 ]; then
    scheme=https
    ptls="    proxy_ssl_verify on; proxy_ssl_name localhost; proxy_ssl_trusted_certificate $dir/tls/ca.pem;"
    ssl=" ssl"
    wtls="    ssl_certificate $dir/tls/nginx.pem; ssl_certificate_key $dir/tls/nginx.pem;"
  fi
  tmpl="$(cat "$harness/nginx.conf.template")"
  fill WRITER "tools/cluster.sh up"
  fill USER "$(id -un)"
  fill DIR "$dir/nginx"
  fill ERROR_LOG "$dir/logs/nginx-error.log"
  fill DIR_RPC "$rpc"
  fill DIR_HTTP "$http"
  fill P_LB "$p_lb"
  fill P_WEB "$p_web"
  fill CACHE_TTL "$cache_ttl"
  fill CACHE_SIZE 1g
  fill DIR_SCHEME "$scheme"
  fill PROXY_TLS "$ptls"
  fill WEB_SSL "$ssl"
  fill WEB_TLS "$wtls"
  printf '%s\n' "$tmpl" > "$dir/nginx/nginx.conf"
  launch nginx nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf"
}

start_one() { # NAME
  case "$1" in
    redis-meta) start_redis redis-meta "$p_meta" ;;
    redis-meta-replica-1) start_redis "$1" "$(p_meta_replica "${1##*-}")" ;;
    sentinel-[123]) start_sentinel "${1#sentinel-}" ;;
    redis-cache) start_redis redis-cache "$p_cache" ;;
    directory-[123]) start_directory "${1#directory-}" ;;
    store-[1-5]) start_store "${1#store-}" ;;
    replicator) start_replicator ;;
    nginx) start_nginx ;;
    *) die "no process named '$1' (names: $(names | tr '\n' ' '))" ;;
  esac
}

fill() { # NAME VALUE: @NAME@ in $tmpl becomes VALUE
  tmpl="${tmpl//"@$1@"/"$2"}"
}

write_cluster_file() { # FILE IDENTITY WHO
  local pubs="" i tmpl
  for i in 1 2 3; do pubs="$pubs${pubs:+,}tcp://127.0.0.1:$(p_dirpub "$i")"; done
  for i in 1 2 3 4 5; do pubs="$pubs,tcp://127.0.0.1:$(p_storepub "$i")"; done
  pubs="$pubs,tcp://127.0.0.1:$p_replpub"
  tmpl="$(cat "$harness/cluster.template")"
  fill WRITER "tools/cluster.sh up"
  fill DIRECTORIES "tcp://127.0.0.1:$p_lb,$(dirs_csv)"
  fill CACHE "127.0.0.1:$p_cache"
  fill CACHE_USER client
  fill CACHE_PASSWORD_FILE "$(pwfile client)"
  fill KEY_FILE "$2"
  fill ROSTER "$dir/keys/roster"
  fill PUBS "$pubs"
  fill REPLICATOR "tcp://127.0.0.1:$p_repl"
  if [ "$tls" = 1 ]; then fill WEB "https://localhost:$p_web"; else fill WEB "http://127.0.0.1:$p_web"; fi
  tmpl="$(tlsify "$tmpl")$(tls_lines "$3")"
  printf '%s\n' "$tmpl" > "$1"
}

# The cluster file's TLS lines: `hs` is the client named client
# (tools/certs also made admin.pem).
tls_lines() { # WHO: client or admin
  [ "$tls" = 1 ] && printf '\ntls_ca = %s\ntls_cert = %s' "$dir/tls/ca.pem" \
    "$dir/tls/$1.pem"
  return 0
}

hs() { "$(bin client/hs)" --cluster "$dir/cluster" "$@"; }

stores_up() { # N: every directory, asked directly, lists N stores UP
  # (nginx sends a client to any of them, and a follower learns the store
  # table a moment after the leader)
  for i in 1 2 3; do
    tlsify "$(printf 'directory=tcp://127.0.0.1:%s\nkey_file=%s%s\n' \
      "$(p_dir "$i")" "$dir/keys/client.key" "$(tls_lines client)")" > "$dir/probe.cluster"
    [ "$hosts" = 1 ] && hosts_rewrite "$dir/probe.cluster"
    [ "$("$(bin client/hs)" --cluster "$dir/probe.cluster" health --json 2>/dev/null |
      grep -o '"state":"STORE_UP"' | wc -l)" -eq "$1" ] || return 1
  done
  rm -f "$dir/probe.cluster"
}

# A Prometheus configuration scraping every process's /metrics, for
# `prometheus --config.file=$dir/prometheus.yml` (docs/web.md).
write_prometheus_yml() {
  local scheme=http host=127.0.0.1 targets="" i
  [ "$tls" = 1 ] && { scheme=https; host=localhost; }
  for i in 1 2 3; do targets="$targets'$host:$(p_dirhttp "$i")', "; done
  for i in 1 2 3 4 5; do targets="$targets'$host:$(p_storehttp "$i")', "; done
  targets="$targets'$host:$p_replhttp'"
  {
    echo "global: { scrape_interval: 5s }"
    echo "scrape_configs:"
    echo "  - job_name: haystack"
    echo "    scheme: $scheme"
    [ "$tls" = 1 ] && echo "    tls_config: { ca_file: '$dir/tls/ca.pem' }"
    echo "    static_configs: [ { targets: [ $targets ] } ]"
  } > "$dir/prometheus.yml"
}

cmd_up() {
  mkdir -p "$dir"
  for n in $(names); do alive "$n" && die "$n is already running; run 'down' first"; done
  # Identities once per cluster folder: a restart keeps the roster.
  [ -f "$dir/keys/roster" ] || "$(bin tools/keys)" init "$dir/keys" --stores 5 >/dev/null
  [ "$tls" = 1 ] && make_certs
  [ "$hosts" = 1 ] && hosts_up
  for n in $(names); do start_one "$n"; done
  # `hs` runs as the client; cluster.admin holds the admin's credential
  # (audits, backups, compaction, credentials).
  write_cluster_file "$dir/cluster" "$dir/keys/client.key" client
  write_cluster_file "$dir/cluster.admin" "$dir/keys/admin.key" admin
  write_prometheus_yml
  [ "$hosts" = 1 ] && hosts_rewrite "$dir/cluster" "$dir/cluster.admin" "$dir/prometheus.yml"
  wait_for 30 "the cluster (a leader and all 5 stores UP)" stores_up 5
  echo "cluster up in $dir"
  echo "  directories (via nginx): $(tlsify "tcp://127.0.0.1:$p_lb; direct: $(dirs_csv)")"
  echo "  redis: meta $(meta_addr), cache 127.0.0.1:$p_cache (ACL users; passwords in $dir/secrets/)"
  echo "  stores: $(tlsify "tcp://127.0.0.1:$(p_store 1)") .. $(p_store 5)"
  local scheme=http host=127.0.0.1
  [ "$tls" = 1 ] && { scheme=https; host=localhost; }
  echo "  status page: $scheme://$host:$(p_dirhttp 1)/ (any directory); metrics at /metrics on every process ($dir/prometheus.yml scrapes them all)"
  echo "  photo URLs: $(web_url)/<photo id> (nginx's photo cache; \`hs url ID\`)"
  [ "$tls" = 1 ] && echo "  TLS: certificates in $dir/tls (hs uses client.pem, cluster.admin admin.pem)"
  echo "  cluster file: $dir/cluster (export HS_CLUSTER=$dir/cluster)"
  [ "$hosts" = 1 ] && hosts_say
  return 0
}

stop_one() { # NAME: SIGTERM, wait up to 5 s, then SIGKILL
  local n="$1" pid
  alive "$n" || { rm -f "$dir/run/$n.pid"; return 0; }
  pid="$(cat "$dir/run/$n.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do alive "$n" || break; sleep 0.05; done
  alive "$n" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/run/$n.pid"
}

# Reverse start order: the directories release their lease while the
# metadata Redis still runs, so the next `up` elects a leader at once.
cmd_down() {
  local n
  for n in $(names | tac); do stop_one "$n"; done
  [ -f "$dir/run/hosts" ] && hosts_down
  echo "cluster down"
}

cmd_status() {
  local n
  for n in $(names); do
    if alive "$n"; then printf '%-12s running (pid %s)\n' "$n" "$(cat "$dir/run/$n.pid")"
    else printf '%-12s stopped\n' "$n"; fi
  done
}

# ---- --hosts: every process a host of its own (docs/hosts.md) ----------
# Each process runs in network namespace hs-NAME with one address on the
# bridge hs-br0, whose own address (.1) is the root namespace's: `hs` and
# this script stay there. The command lines are the loopback ones with each
# 127.0.0.1:PORT turned into the address of the process owning PORT.
hosts_bridge=hs-br0
subnet=""
[ -f "$dir/run/hosts" ] && { hosts=1; subnet="$(cat "$dir/run/hosts")"; }

# NAME's host and ports: the last byte of its address (stores by zone: a
# .101.., b .111.., c .121..), then the ports it listens on (see the p_
# variables above).
host_of() { # NAME
  local i="${1##*-}"
  case "$1" in
    redis-meta) echo "11 $p_meta" ;;
    redis-meta-replica-*) echo "15 $(p_meta_replica "$i")" ;;
    sentinel-*) echo "$((15 + i)) $(p_sentinel "$i")" ;;
    redis-cache) echo "12 $p_cache" ;;
    replicator) echo "13 $p_repl $p_replpub $p_replhttp" ;;
    nginx) echo "14 $p_lb $p_web" ;;
    directory-*) echo "$((20 + i)) $(p_dir "$i") $(p_dirpub "$i") $(p_dirhttp "$i")" ;;
    store-*) echo "$((101 + 10 * ((i - 1) % 3) + (i - 1) / 3)) $(p_store "$i") $(p_storepub "$i") $(p_storehttp "$i")" ;;
  esac
}

host_ip() { local h; h="$(host_of "$1")"; echo "$subnet.${h%% *}"; } # NAME
host_ports() { local h; h="$(host_of "$1")"; echo "${h#* }"; }       # NAME

# NAME's address: its host's with --hosts, else loopback (for the
# configuration files that name a peer by address and port apart).
addr_of() { # NAME
  if [ "$hosts" = 1 ]; then host_ip "$1"; else echo 127.0.0.1; fi
}

# One sed program: 127.0.0.1:PORT -> the owner's address:PORT.
hosts_sed() {
  local n p
  for n in $(names); do
    for p in $(host_ports "$n"); do
      printf 's/127\\.0\\.0\\.1:%s\\b/%s:%s/g;' "$p" "$(host_ip "$n")" "$p"
    done
  done
}

hostify() { # TEXT
  if [ "$hosts" = 1 ]; then printf '%s\n' "$1" | sed "$(hosts_sed)"; else echo "$1"; fi
}

hosts_rewrite() { # FILE...
  local prog f; prog="$(hosts_sed)"
  for f in "$@"; do sed -i "$prog" "$f"; done
}

# NAME's command line on its host: `ip netns exec` (which execs, so the
# pid file names the process itself), each argument hostified.
hosts_argv() { # NAME CMD...
  local name="$1" a; shift
  printf '%s\n' ip netns exec "hs-$name"
  for a in "$@"; do hostify "$a"; done
  case "$name" in redis-*) printf '%s\n' --bind "$(host_ip "$name")" ;; esac
}

# nginx's configuration on its host: its addresses, and purges allowed
# from the directories' hosts.
hosts_prepare() { # NAME
  [ "$1" = nginx ] || return 0
  hosts_rewrite "$dir/nginx/nginx.conf"
  sed -i "s|allow 127.0.0.1;|allow 127.0.0.1; allow $subnet.0/24;|" "$dir/nginx/nginx.conf"
}

hosts_up() {
  local n v
  mkdir -p "$dir/run"; echo "$subnet" > "$dir/run/hosts"
  ip link add "$hosts_bridge" type bridge
  ip addr add "$subnet.1/24" dev "$hosts_bridge"
  ip link set "$hosts_bridge" up
  for n in $(names); do
    v="hsv-${n/directory/dir}"; v="${v/redis-meta-replica/rmr}"; v="${v:0:15}"
    ip netns add "hs-$n"
    ip link add "$v" type veth peer name hsp-tmp netns "hs-$n"
    ip -n "hs-$n" link set hsp-tmp name eth0
    ip -n "hs-$n" addr add "$(host_ip "$n")/24" dev eth0
    ip -n "hs-$n" link set eth0 up
    ip -n "hs-$n" link set lo up
    ip link set "$v" master "$hosts_bridge" up
  done
}

# Before `up`: the subnet, the first 10.77.N.0/24 nobody here uses, so
# that what `up` prints can name the hosts' addresses.
hosts_pick() {
  local v
  [ "$(id -u)" = 0 ] || die "--hosts needs root (network namespaces; ip netns)"
  [ "$tls" = 1 ] && die "--hosts with --tls is not supported yet (the certificates name localhost)"
  ip link show "$hosts_bridge" >/dev/null 2>&1 &&
    die "another --hosts cluster is up (bridge $hosts_bridge); run 'down' in its folder"
  for v in $(seq 0 255); do
    subnet="10.77.$v"
    { ip -4 -o addr; ip -4 route; } | grep -qF "$subnet." || return 0
  done
  die "no free /24 in 10.77.0.0/16 for --hosts"
}

hosts_down() {
  local n
  for n in $(names); do
    ip netns pids "hs-$n" 2>/dev/null | xargs -r kill -9
    ip netns del "hs-$n" 2>/dev/null || true
  done
  ip link del "$hosts_bridge" 2>/dev/null || true
  rm -f "$dir/run/hosts"
}

hosts_say() {
  local n
  echo "  hosts: each process in namespace hs-NAME on $hosts_bridge ($subnet.0/24; this namespace is $subnet.1):"
  for n in $(names); do printf '    %-12s %s\n' "$n" "$(host_ip "$n")"; done
  echo "  cut a link: ip -n hs-A route add prohibit ADDR_OF_B/32 (del to heal); a host off: ip -n hs-A link set eth0 down"
}

case "$cmd" in
  up) if [ "$hosts" = 1 ]; then hosts_pick; cmd_up | sed "$(hosts_sed)"; else cmd_up; fi ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) [ $# -ge 1 ] || die "usage: logs NAME [-f]"
        [ -f "$dir/logs/$1.log" ] || die "no log for '$1' in $dir/logs"
        if [ "${2:-}" = "-f" ]; then exec tail -f "$dir/logs/$1.log"; else cat "$dir/logs/$1.log"; fi ;;
  kill) [ $# -ge 1 ] || die "usage: kill NAME"
        alive "$1" || die "$1 is not running"
        kill -KILL "$(cat "$dir/run/$1.pid")"
        wait_for 5 "the end of $1" dead "$1" # so a `start` right after works
        echo "killed $1" ;;
  start) [ $# -ge 1 ] || die "usage: start NAME"
         alive "$1" && die "$1 is already running"
         [ -f "$dir/run/$1.cmd" ] || die "$1 was never started here; run 'up' first"
         mkdir -p "$dir/logs"; nohup bash -c "exec $(cat "$dir/run/$1.cmd")" >>"$dir/logs/$1.log" 2>&1 &
         echo $! > "$dir/run/$1.pid"; echo "started $1" ;;
  ""|-h|--help|help) usage ;;
  *) usage >&2; exit 64 ;;
esac
