#!/usr/bin/env bash
# Builds the Debian package haystack-c_<version>_amd64.deb (docs/install.md):
#   tools/deb.sh [--out DIR] [--bin DIR] [--compress xz|gzip|zstd|none]
# The binaries come from `bazel build -c opt` of their targets, or, with
# --bin, from DIR laid out as bazel-bin or a runfiles tree (the package
# test passes its runfiles). The version is tools/debian/VERSION; the units,
# settings, control file and maintainer scripts are the files beside it.
# The .deb lands in --out (default: the current folder); its path is the
# one line printed. --compress is dpkg-deb's -Z (default xz, Debian's; the
# package test takes none, which costs no CPU).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$PWD" bin="" compress=xz

die() { echo "deb: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --bin) bin="$2"; shift 2 ;;
    --bin=*) bin="${1#--bin=}"; shift ;;
    --compress) compress="$2"; shift 2 ;;
    --compress=*) compress="${1#--compress=}"; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: tools/deb.sh [--out DIR] [--bin DIR] [--compress xz|gzip|zstd|none])" ;;
  esac
done
case "$compress" in xz|gzip|zstd|none) ;; *) die "--compress takes xz, gzip, zstd or none, not '$compress'" ;; esac
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"

targets=(//directory:directoryd //store:stored //replicator:replicatord //client:hs //tools:keys)
if [ -z "$bin" ]; then
  (cd "$repo" && bazel build -c opt "${targets[@]}") >&2 ||
    die "bazel build -c opt failed; see above"
  bin="$(cd "$repo" && bazel info -c opt bazel-bin 2>/dev/null)"
fi
[ -d "$bin" ] || die "no binaries folder '$bin'"

# FILE from the binaries' tree when it is there (a runfiles tree holds the
# sources too), else from the source tree.
src() {
  if [ -e "$bin/$1" ]; then echo "$bin/$1"
  elif [ -e "$repo/$1" ]; then echo "$repo/$1"
  else die "'$1' is in neither $bin nor $repo (build it first)"; fi
}

deb="$(src tools/debian)"
version="$(tr -d ' \n' < "$deb/VERSION")"
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "tools/debian/VERSION holds '$version', not a Debian version"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/haystack-c"

# Daemons under /usr/lib (the units start them), tools people run on PATH.
put() { # MODE FROM TO
  install -D -m "$1" "$2" "$root/$3"
}
put 0755 "$(src directory/directoryd)" usr/lib/haystack-c/directoryd
put 0755 "$(src store/stored)" usr/lib/haystack-c/stored
put 0755 "$(src replicator/replicatord)" usr/lib/haystack-c/replicatord
put 0755 "$(src client/hs)" usr/bin/hs
put 0755 "$(src tools/keys)" usr/bin/hs-keys
put 0755 "$(src tools/certs)" usr/bin/hs-certs
if command -v strip >/dev/null; then
  strip --strip-unneeded "$root"/usr/lib/haystack-c/* "$root"/usr/bin/hs "$root"/usr/bin/hs-keys
fi
for u in hs-directory@.service hs-store@.service hs-replicator.service; do
  put 0644 "$deb/$u" "lib/systemd/system/$u"
done
for c in directory store replicator; do
  put 0644 "$deb/$c.conf" "etc/haystack/$c.conf"
done
# What a host's Redis and `hs` need: the users (passwords hashed in) and
# settings of the metadata and cache Redis, the cluster file's layout.
for f in redis-meta.acl redis-meta.conf redis-cache.acl redis-cache.conf cluster.template; do
  put 0644 "$(src "testing/$f")" "usr/share/haystack-c/$f"
done

mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do put 0755 "$deb/$s" "DEBIAN/$s"; done
printf '/etc/haystack/%s.conf\n' directory store replicator > "$root/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$deb/control" > "$root/DEBIAN/control"

mkdir -p "$out"
file="$out/haystack-c_${version}_amd64.deb"
dpkg-deb -Z"$compress" --root-owner-group --build "$root" "$file" >/dev/null
echo "$file"
