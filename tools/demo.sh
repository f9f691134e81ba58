#!/usr/bin/env bash
# The README's first command: installs what is missing, builds everything,
# brings up the local cluster (Redis for metadata and for the cache, 3
# directories behind nginx, 5 stores in 3 zones, and the replicator)
# under .hs/, and shows an upload, its status, a download and the photo
# fetched over HTTP from its URL through nginx's photo cache. The cluster
# keeps running afterwards: `bazel run //tools:cluster -- down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
echo "== building everything"
if ! bazel build //... >/tmp/hs-demo-build.log 2>&1; then
  grep -E 'ERROR|error:' /tmp/hs-demo-build.log | head -20 >&2
  echo "demo: the build failed; full log in /tmp/hs-demo-build.log" >&2
  exit 1
fi
cluster="bazel-bin/tools/cluster"
# A cluster left running by an earlier demo is restarted, keeping its data.
"$cluster" down --dir "$PWD/.hs" >/dev/null 2>&1 || true
echo "== starting the local cluster"
"$cluster" up --dir "$PWD/.hs"
export HS_CLUSTER="$PWD/.hs/cluster"
hs=bazel-bin/client/hs
photo=$(mktemp --suffix=.jpg)
trap 'rm -f "$photo" "$photo.back" "$photo.web" "$photo.head"' EXIT
# A JPEG's magic bytes, then noise: served as image/jpeg.
printf '\xff\xd8\xff\xe0' > "$photo"
head -c 150000 /dev/urandom >> "$photo"
echo "== hs upload $photo"
id=$("$hs" upload "$photo")
echo "$id"
echo "== hs status $id"
"$hs" status "$id"
echo "== hs download $id"
"$hs" download "$id" "$photo.back"
if cmp -s "$photo" "$photo.back"; then
  echo "downloaded $(stat -c %s "$photo.back") bytes, identical to the upload"
else
  echo "demo: the download differs from the upload" >&2
  exit 1
fi
echo "== hs url $id"
url=$("$hs" url "$id")
echo "$url"
echo "== curl $url (nginx's photo cache in front of the stores)"
curl -sS -o "$photo.web" -D "$photo.head" "$url"
grep -iE '^(HTTP|content-type|etag|x-cache-status)' "$photo.head" | tr -d '\r'
if cmp -s "$photo" "$photo.web"; then
  echo "fetched $(stat -c %s "$photo.web") bytes over HTTP, identical to the upload"
else
  echo "demo: the photo's URL did not serve the uploaded bytes" >&2
  exit 1
fi
echo
echo "The cluster is still running (HS_CLUSTER=$HS_CLUSTER). Try:"
echo "  the status page: http://127.0.0.1:7161/ (any directory, 7161-7163)"
echo "  metrics: curl http://127.0.0.1:7171/metrics (every process; .hs/prometheus.yml)"
echo "  bazel run //client:hs -- health"
echo "  bazel run //tools:cluster -- status | logs store-1 | kill store-2 | down"
echo "Both Redis instances want a login (one ACL user per process; passwords"
echo "in .hs/secrets/, mode 0600). As the operator:"
echo "  REDISCLI_AUTH=\$(cat .hs/secrets/admin.password) redis-cli --user admin -p 7101 info keyspace"
