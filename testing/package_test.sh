#!/usr/bin/env bash
# The Debian package (tools/deb.sh, docs/install.md), as an operator meets
# it: built from the binaries, its control data and contents (every
# library the binaries link is a package it depends on), its three units
# through `systemd-analyze verify --root` (ExecStart paths checked inside
# the installed tree), installed by dpkg into a scratch root with a dpkg
# database of its own (the postinst runs there through DPKG_ROOT), then a
# directory, two stores and the replicator started from their installed
# units' own ExecStart lines and settings (/etc/haystack, addresses moved
# to free loopback ports, a redis-server of the harness's settings), as
# the haystack user the postinst made, and driven by the installed `hs`:
# /health on every one, an upload and its download byte for byte.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "package_test: SKIP: needs root (dpkg into a scratch root, chown to the haystack user, setpriv)"
  exit 0
fi

rf="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-haystack_c}"
work="$(mktemp -d /tmp/hs-package-test.XXXXXX)"
chmod 0755 "$work" # the haystack user reaches its files below
R="$work/root"
pids=()

fail() { echo "package_test: FAIL: $*" >&2; keep_logs=1; exit 1; }
step() { echo "package_test: [${SECONDS}s] $*"; }

cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]+"${pids[@]}"}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "${keep_logs:-}" ]; then
    for f in "$work"/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  fi
  rm -rf "$work"
}
trap 'echo "package_test: FAIL: line $LINENO: $BASH_COMMAND" >&2; keep_logs=1' ERR
trap cleanup EXIT

for c in dpkg-deb dpkg-query systemd-analyze readelf strip setpriv unshare ss redis-server redis-cli curl sha256sum; do
  command -v "$c" >/dev/null || fail "$c is missing (tools/setup.sh installs what the suite needs)"
done

wait_until() { # SECONDS WHAT COMMAND...: polls COMMAND, at most SECONDS
  local secs="$1" what="$2" until=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || fail "$what within $secs s"
    sleep 0.1
  done
}

# -- the package ---------------------------------------------------------
deb="$("$rf/tools/deb.sh" --bin "$rf" --out "$work" --compress none)"
version="$(tr -d ' \n' < "$rf/tools/debian/VERSION")"
[ "$(basename "$deb")" = "haystack-c_${version}_amd64.deb" ] ||
  fail "tools/deb.sh made $deb, not haystack-c_${version}_amd64.deb"
info="$(dpkg-deb --info "$deb")"
for want in "Package: haystack-c" "Version: $version" "Architecture: amd64"; do
  grep -qx " $want" <<< "$info" || fail "dpkg-deb --info lacks '$want'"
done
contents="$(dpkg-deb --contents "$deb" | awk '{ print $NF }')"
for f in usr/lib/haystack-c/directoryd usr/lib/haystack-c/stored \
  usr/lib/haystack-c/replicatord usr/bin/hs usr/bin/hs-keys usr/bin/hs-certs \
  lib/systemd/system/hs-directory@.service lib/systemd/system/hs-store@.service \
  lib/systemd/system/hs-replicator.service etc/haystack/directory.conf \
  etc/haystack/store.conf etc/haystack/replicator.conf; do
  grep -qx "./$f" <<< "$contents" || fail "the package lacks /$f"
done
step "built $(basename "$deb"): $(wc -l <<< "$contents") paths"

# Every library a binary links is in a package the control file names,
# and every package it names is one this (Debian 12) host has.
depends="$(dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g')"
mkdir "$work/x"
dpkg-deb -x "$deb" "$work/x"
libs="$(for b in "$work"/x/usr/lib/haystack-c/* "$work"/x/usr/bin/hs "$work"/x/usr/bin/hs-keys; do
  readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
done | sort -u)"
# Which package holds each library: dpkg's file lists, read once (dpkg -S
# reads them all again for every library it is asked about).
# shellcheck disable=SC2062 # the glob names files, not a pattern
owners="$(printf '/%s\n' $libs | grep -F -f - /var/lib/dpkg/info/*.list |
  grep -v -e i386 -e /lib32/ -e /libx32/)"
for lib in $libs; do
  # a sanitizer build's runtime (--config=asan) is not the release's
  case "$lib" in libasan.so.*|libubsan.so.*) continue ;; esac
  pkg="$(grep -F "/$lib" <<< "$owners" | grep "$lib\$" | head -1 | sed 's|.*/info/||; s|\.list:.*||; s|:.*||')"
  [ -n "$pkg" ] || fail "no installed package holds $lib (the packaged binaries link it)"
  grep -qx "$pkg" <<< "$depends" ||
    fail "the packaged binaries link $lib from $pkg, which the control file's Depends lacks"
done
installed="$(dpkg-query -W -f='${Package} ${Status}\n' $depends 2>/dev/null | grep " install ok installed")"
for pkg in $depends; do
  grep -q "^$pkg " <<< "$installed" || fail "Depends names $pkg, which this Debian host does not have"
done

# -- installed by dpkg into a scratch root ------------------------------------
# A root with a dpkg database of its own and passwd files holding root
# alone. The scratch database knows no package, so --force-depends (the
# host's libraries were checked above); --force-script-chrootless runs the
# maintainer scripts here with DPKG_ROOT=$R instead of chrooting into a
# root that has no shell.
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc"
touch "$R/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
(umask 077; echo 'root:*:19000:0:99999:7:::' > "$R/etc/shadow"; echo 'root:*::' > "$R/etc/gshadow")
dpkg --instdir="$R" --admindir="$R/var/lib/dpkg" --force-script-chrootless \
  --force-depends --log=/dev/null -i "$deb" > "$work/dpkg.log" 2>&1 ||
  { cat "$work/dpkg.log"; fail "dpkg -i into the scratch root failed"; }
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}' haystack-c | grep -q "install ok installed" ||
  fail "dpkg does not list haystack-c as installed in the scratch root"
uid="$(awk -F: '$1 == "haystack" { print $3 }' "$R/etc/passwd")"
gid="$(awk -F: '$1 == "haystack" { print $4 }' "$R/etc/passwd")"
[ -n "$uid" ] || fail "the postinst made no haystack user"
[ "$(stat -c '%u %a' "$R/etc/haystack/secrets")" = "$uid 700" ] ||
  fail "/etc/haystack/secrets is not the haystack user's, mode 0700: $(stat -c '%u %a' "$R/etc/haystack/secrets")"
step "installed into a scratch root; the haystack user is uid $uid"

# -- systemd-analyze verify -------------------------------------------------
# --root looks the units up inside the installed tree and checks their
# ExecStart binaries there; the targets and slices every service depends
# on by default come from the host (the scratch root has no systemd).
shopt -s nullglob
for f in /lib/systemd/system/*.target /lib/systemd/system/*.slice; do
  [ -e "$R$f" ] || cp "$f" "$R$f"
done
shopt -u nullglob
if ! out="$(systemd-analyze verify --root="$R" hs-directory@1.service \
  hs-store@1.service hs-replicator.service 2>&1)" || [ -n "$out" ]; then
  fail "systemd-analyze verify: $out"
fi
step "systemd-analyze verify --root passes on the three units"

# -- secrets, as docs/install.md makes them -------------------------------------
as_haystack() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$@"; }
as_haystack "$R/usr/bin/hs-keys" init "$R/etc/haystack/secrets/keys" --stores 2 >/dev/null
users="admin directory store replicator"
for u in $users; do
  (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$R/etc/haystack/secrets/$u.password")
done
chown "$uid:$gid" "$R"/etc/haystack/secrets/*.password

# The metadata Redis: the harness's settings and users, each user's
# password hash in place of @USER@ (testing/redis-meta.acl).
# A loopback port nothing listens on and not handed out before, in $port:
# below the ephemeral range (32768-), where the harness's own free ports
# (bound to port 0) and outgoing connections are.
taken=" "
next_port() {
  while :; do
    port=$((20000 + RANDOM % 12000))
    case "$taken" in *" $port "*) continue ;; esac
    ss -Htln "sport = :$port" | grep -q . && continue
    taken="$taken$port "
    return
  done
}
mkdir -p "$work/redis" "$work/logs"
sub=""
for u in $users; do
  sub="$sub;s/@${u^^}@/$(sha256sum < "$R/etc/haystack/secrets/$u.password" | cut -d' ' -f1)/g"
done
grep -v '^#' "$rf/testing/redis-meta.acl" | sed "${sub#;}" > "$work/redis/users.acl"
next_port
rport="$port"
redis-server "$rf/testing/redis-meta.conf" --port "$rport" --dir "$work/redis" \
  --aclfile "$work/redis/users.acl" > "$work/logs/redis.log" 2>&1 &
pids+=($!)
redis_ping() {
  REDISCLI_AUTH="$(cat "$R/etc/haystack/secrets/admin.password")" \
    redis-cli --user admin -p "$rport" ping | grep -q PONG
}
wait_until 10 "redis-server answering" redis_ping

# -- the installed settings, moved to free ports ------------------------------
# Every 127.0.0.1:PORT the settings name gets a free port (the same one in
# every file), paths move under the scratch root, and uploads ask for 2
# replicas (2 stores here).
conf="$R/etc/haystack"
sed_ports="s|127\.0\.0\.1:6379\b|127.0.0.1:$rport|g"
for p in $(grep -oh '127\.0\.0\.1:[0-9]*' "$conf"/*.conf | cut -d: -f2 | sort -u); do
  [ "$p" = 6379 ] && continue
  next_port
  sed_ports="$sed_ports;s|127\.0\.0\.1:$p\b|127.0.0.1:$port|g"
done
sed -i -e "$sed_ports" -e "s|/etc/haystack/|$R/etc/haystack/|g" \
  -e "s|^DEFAULT_REPLICA_COUNT=.*|DEFAULT_REPLICA_COUNT=2|" "$conf"/*.conf
# Store 2 on this host: its own addresses and zone (docs/install.md).
next_port; p1="$port"; next_port; p2="$port"; next_port; p3="$port"
cat > "$conf/store-2.conf" <<EOF
HS_LISTEN=tcp://127.0.0.1:$p1
HS_PUB=tcp://127.0.0.1:$p2
HS_HTTP=127.0.0.1:$p3
STORE_ZONE=zone-b
EOF

# -- each service from its installed unit -----------------------------------
# What systemd would do with the unit's lines, in order: Environment= and
# EnvironmentFile= (optional with '-') make a clean environment, %i is the
# instance, StateDirectory= is made for the unit's user, UMask= applies,
# ProtectSystem=strict makes the whole scratch root read-only to it but
# its StateDirectory= (in a mount namespace of its own), and ExecStart=
# runs as User= with no new privileges, ${VAR}s expanded, its path and
# the unit's own /var/lib paths under the scratch root.
# Run it with & (a subshell of its own): its exec makes $! the daemon.
start_unit() { # UNIT INSTANCE
  local unit="$R/lib/systemd/system/$1" inst="$2" key val line envs=() argv
  local user=root strict=0 rw=()
  [ -f "$unit" ] || fail "no unit $1 installed"
  env_line() { # K=V: exported and kept for the clean environment
    case "$1" in ''|'#'*) return ;; esac
    # shellcheck disable=SC2163 # NAME=value, exported as such
    export "$1"
    envs+=("$1")
  }
  while IFS= read -r line; do
    line="${line//%i/$inst}"
    key="${line%%=*}" val="${line#*=}"
    case "$key" in
      Environment) env_line "${val//\/var\/lib\//$R/var/lib/}" ;;
      EnvironmentFile)
        if [ "${val#-}" != "$val" ]; then
          [ -f "$R${val#-}" ] || continue
          val="${val#-}"
        fi
        while IFS= read -r l; do env_line "$l"; done < "$R$val" ;;
      StateDirectory)
        install -d -m 0750 -o "$uid" -g "$gid" "$R/var/lib/$val"
        rw+=("$R/var/lib/$val") ;;
      ProtectSystem) [ "$val" != strict ] || strict=1 ;;
      UMask) umask "$val" ;;
      User) user="$val" ;;
      ExecStart) eval "argv=($val)" ;;
    esac
  done < "$unit"
  [ -n "${argv+x}" ] || fail "$1 has no ExecStart"
  [ "$user" = haystack ] || fail "$1 runs as '$user', not as the haystack user"
  argv=("$R${argv[0]}" "${argv[@]:1}")
  argv=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "${argv[@]}")
  [ "$strict" = 0 ] || argv=(unshare --mount --propagation private sh -c "$read_only" sh "$R" "${rw[@]}" -- "${argv[@]}")
  exec env -i PATH=/usr/bin:/bin "${envs[@]}" "${argv[@]}" > "$work/logs/${1/@/-$inst}.log" 2>&1
}
# sh -c: ROOT [RW...] -- CMD...: ROOT read-only but each RW, then CMD.
# shellcheck disable=SC2016 # expanded by that sh
read_only='mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift &&
  while [ "$1" != -- ]; do
    mount --bind "$1" "$1" && mount -o remount,bind,rw "$1" && shift || exit 1
  done && shift && exec "$@"'

healthy() { # HOST:PORT: /health answers 200
  curl -fsS --max-time 2 "http://$1/health" >/dev/null
}
http_of() { # FILE: its HS_HTTP
  sed -n 's/^HS_HTTP=//p' "$1"
}

start_unit hs-directory@.service 1 & pids+=($!)
start_unit hs-store@.service 1 & pids+=($!)
start_unit hs-store@.service 2 & pids+=($!)
start_unit hs-replicator.service "" & pids+=($!)
for c in directory store store-2 replicator; do
  wait_until 20 "$c's /health at $(http_of "$conf/$c.conf")" healthy "$(http_of "$conf/$c.conf")"
done
[ -d "$R/var/lib/haystack/store-1" ] && [ -d "$R/var/lib/haystack/store-2" ] ||
  fail "the stores' volumes are not in their StateDirectory"
step "directory, 2 stores and the replicator up from their units; /health 200 on each"

# -- the installed hs: an upload and its download -----------------------------
dir_rpc="$(sed -n 's/^HS_LISTEN=//p' "$conf/directory.conf")"
printf 'directory = %s\nkey_file = %s\n' "$dir_rpc" "$conf/secrets/keys/client.key" > "$work/cluster"
hs() { "$R/usr/bin/hs" --cluster "$work/cluster" "$@"; }
two_up() { [ "$(hs health --json | grep -o '"state":"STORE_UP"' | wc -l)" -eq 2 ]; }
wait_until 20 "2 stores UP at the directory" two_up
head -c 100000 /dev/urandom > "$work/photo"
id="$(hs upload "$work/photo")" || { keep_logs=1; fail "hs upload failed"; }
hs download "$id" "$work/photo.back" || { keep_logs=1; fail "hs download $id failed"; }
cmp -s "$work/photo" "$work/photo.back" || fail "the downloaded photo differs from the upload"
[ -n "$(find "$R/var/lib/haystack/store-1" "$R/var/lib/haystack/store-2" -type f -user "$uid")" ] ||
  fail "no volume file owned by the haystack user in the stores' folders"
step "hs upload + download through the installed cluster: $id, byte for byte"
echo "package_test: PASS"
