/* The Lua texts (see scripts.h). A fenced script answers a bare error
 * "FENCED ..." when hs:leader no longer holds the caller's id and epoch:
 * the caller must step down. The change-log sequence is taken inside the
 * same script as the write, so a sequence number is used exactly once and
 * only by a commit that happened. The packed PhotoRecord is sent without
 * its seq (field 9); the script appends that field itself (a protobuf
 * message may be extended by concatenation), so the stored bytes are the
 * whole record. Each log entry also names the lease that committed it
 * ('by'), so an audit can tell which term wrote what. */
#include "scripts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define FENCE                                                                  \
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"                      \
	"  return redis.error_reply('FENCED lease is not ' .. ARGV[1])\n"      \
	"end\n"

/* Protobuf field 9 (varint) holding n; Lua numbers are exact below 2^53. */
#define SEQ_FIELD                                                              \
	"local function seqfield(n)\n"                                         \
	"  local t = {string.char(0x48)}\n"                                    \
	"  while n >= 128 do t[#t+1] = string.char(n % 128 + 128);"            \
	" n = math.floor(n / 128) end\n"                                       \
	"  t[#t+1] = string.char(n)\n"                                         \
	"  return table.concat(t)\n"                                           \
	"end\n"

/* A new record: the next seq, the log entry and the photo's hash. KEYS
 * seq, photo, log at 2, 3, 4; ARGV lease, record (no seq), cookie, sha256,
 * size, log max length at 1..6. */
#define COMMIT_NEW                                                               \
	"local seq = redis.call('INCR', KEYS[2])\n"                              \
	"local rec = ARGV[2] .. seqfield(seq)\n"                                 \
	"redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], seq .. '-0',"       \
	" 'rec', rec, 'by', ARGV[1])\n"                                          \
	"redis.call('HSET', KEYS[3], 'rec', rec, 'seq', seq, 'cookie', ARGV[3]," \
	" 'sha', ARGV[4], 'size', ARGV[5])\n"

/* KEYS: leader, epoch, info. ARGV: id, ttl ms, rpc addr, pub addr, "1"
 * to take a free lease or "0" only to learn who holds it (a directory
 * still loading its records must not lead). */
struct rt_redis_script dir_script_acquire = { "acquire",
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur then\n"
	"  local i = redis.call('HMGET', KEYS[3], 'rpc', 'pub')\n"
	"  return {0, cur, i[1] or '', i[2] or ''}\n"
	"end\n"
	"if ARGV[5] ~= '1' then return {0, '', '', ''} end\n"
	"local e = redis.call('INCR', KEYS[2])\n"
	"local v = ARGV[1] .. '/' .. e\n"
	"redis.call('SET', KEYS[1], v, 'PX', ARGV[2])\n"
	"redis.call('HSET', KEYS[3], 'id', ARGV[1], 'epoch', e, 'rpc', ARGV[3],"
	" 'pub', ARGV[4])\n"
	"return {1, v, ARGV[3], ARGV[4]}\n",
	"" };

/* KEYS: leader. ARGV: value, ttl ms. */
struct rt_redis_script dir_script_refresh = { "refresh",
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"return 0\n",
	"" };

/* KEYS: leader. ARGV: value. A clean shutdown hands over at once. */
struct rt_redis_script dir_script_release = { "release",
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return 1\n"
	"end\n"
	"return 0\n",
	"" };

/* KEYS: leader, seq, log, then one photo hash per registration. ARGV:
 * lease, log max length, then per registration 7: record (no seq),
 * cookie, sha256, size, "1" if its write token has expired, the extra
 * stores to add (a packed protobuf field 5, "" for none) and the seq they
 * were computed against. Answers a flat {how, seq} pair per registration:
 * 1 new; 0 the same photo is registered (a resend: answered even after the
 * token expired, so a lost reply never turns a stored photo into a leak);
 * 2 the same photo, its record now also naming the extra stores (a
 * registration's locations are an add-only union: a protobuf repeated
 * field extends by concatenation, and the appended seq field wins); 3
 * the same photo, but its record moved on from the seq the extra stores
 * were computed against (resend: nothing was added); -1 another photo
 * holds the key; -4 a new registration under an expired token (the audit
 * may have removed its needles as orphans). */
struct rt_redis_script dir_script_register = { "register",
	FENCE SEQ_FIELD
	"local out = {}\n"
	"for i = 4, #KEYS do\n"
	"  local a = 3 + (i - 4) * 7\n"
	"  local pk = KEYS[i]\n"
	"  local old = redis.call('HMGET', pk, 'cookie', 'sha', 'size', 'seq')\n"
	"  local how, seq = 1, 0\n"
	"  if old[4] then\n"
	"    how, seq = -1, tonumber(old[4])\n"
	"    if old[1] == ARGV[a+1] and old[2] == ARGV[a+2] and"
	" old[3] == ARGV[a+3] then\n"
	"      how = 0\n"
	"      if ARGV[a+5] ~= '' and old[4] ~= ARGV[a+6] then\n"
	"        how = 3\n"
	"      elseif ARGV[a+5] ~= '' then\n"
	"        how, seq = 2, redis.call('INCR', KEYS[2])\n"
	"        local rec = redis.call('HGET', pk, 'rec') .. ARGV[a+5] .."
	" seqfield(seq)\n"
	"        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',"
	" 'rec', rec, 'by', ARGV[1])\n"
	"        redis.call('HSET', pk, 'rec', rec, 'seq', seq)\n"
	"      end\n"
	"    end\n"
	"  elseif ARGV[a+4] == '1' then\n"
	"    how = -4\n"
	"  else\n"
	"    seq = redis.call('INCR', KEYS[2])\n"
	"    local rec = ARGV[a] .. seqfield(seq)\n"
	"    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',"
	" 'rec', rec, 'by', ARGV[1])\n"
	"    redis.call('HSET', pk, 'rec', rec, 'seq', seq, 'cookie', ARGV[a+1],"
	" 'sha', ARGV[a+2], 'size', ARGV[a+3])\n"
	"  end\n"
	"  out[#out+1] = how\n"
	"  out[#out+1] = seq\n"
	"end\n"
	"return out\n",
	"" };

/* KEYS: leader, seq, photo, log, tombstones. ARGV: lease, record (no
 * seq), cookie, sha256, size, log max length, then tombstone members.
 * {0, seq} when the key holds a record (kept: a restore never
 * overwrites), {1, seq} restored. */
struct rt_redis_script dir_script_restore = { "restore",
	FENCE SEQ_FIELD
	"local old = redis.call('HGET', KEYS[3], 'seq')\n"
	"if old then return {0, tonumber(old)} end\n" COMMIT_NEW
	"for i = 7, #ARGV do redis.call('SADD', KEYS[5], ARGV[i]) end\n"
	"return {1, seq}\n",
	"" };

/* KEYS: leader, seq, photo, log, tombstones, cache key, replicator epoch.
 * ARGV: lease, record (no seq), expected current seq, log max length, "1"
 * to drop the cache entry (a delete) or "0", the caller's replicator
 * epoch ("0": not the replicator), then tombstone members to add.
 * Compare-and-set on the record's seq, so a leader whose memory is stale
 * cannot overwrite a newer record; a replicator whose lease passed to
 * another ({-3, current epoch}) changes nothing. The cache entry is
 * dropped in the same step as the commit. */
struct rt_redis_script dir_script_update = { "update",
	FENCE SEQ_FIELD
	"if ARGV[6] ~= '0' then\n"
	"  local e = tonumber(redis.call('GET', KEYS[7]) or '0')\n"
	"  if tonumber(ARGV[6]) < e then return {-3, e} end\n"
	"end\n"
	"local cur = redis.call('HGET', KEYS[3], 'seq')\n"
	"if cur ~= ARGV[3] then return {-2, tonumber(cur or 0)} end\n"
	"local seq = redis.call('INCR', KEYS[2])\n"
	"local rec = ARGV[2] .. seqfield(seq)\n"
	"redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], seq .. '-0',"
	" 'rec', rec, 'by', ARGV[1])\n"
	"redis.call('HSET', KEYS[3], 'rec', rec, 'seq', seq)\n"
	"for i = 7, #ARGV do redis.call('SADD', KEYS[5], ARGV[i]) end\n"
	"if ARGV[5] == '1' then redis.call('DEL', KEYS[6]) end\n"
	"return {1, seq}\n",
	"" };

/* KEYS: leader, stores. ARGV: lease, store id, packed StoreInfo. */
struct rt_redis_script dir_script_put_store = { "put_store",
	FENCE "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
	      "return 1\n",
	"" };

/* KEYS: leader, groups, group seq. ARGV: lease, the group's stores
 * ("3,1,4"), the largest id a key can carry. */
struct rt_redis_script dir_script_new_group = { "new_group",
	FENCE "local id = redis.call('INCR', KEYS[3])\n"
	      "if id > tonumber(ARGV[3]) then\n"
	      "  return redis.error_reply('GROUPS every group id is used')\n"
	      "end\n"
	      "redis.call('HSET', KEYS[2], id, ARGV[2])\n"
	      "return id\n",
	"" };

/* KEYS: leader, grant seq. ARGV: lease, count. A grant's sequence numbers
 * are the count ending at the answer; never handed out twice. */
struct rt_redis_script dir_script_grant = { "grant",
	FENCE "return {1, redis.call('INCRBY', KEYS[2], ARGV[2])}\n", "" };

/* KEYS: leader, principals, their version. ARGV: lease, name, "role pub"
 * to add or "" to revoke. {1, the set's new version}. */
struct rt_redis_script dir_script_principal = { "principal",
	FENCE "if ARGV[3] == '' then\n"
	      "  redis.call('HDEL', KEYS[2], ARGV[2])\n"
	      "else\n"
	      "  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
	      "end\n"
	      "return {1, redis.call('INCR', KEYS[3])}\n",
	"" };

/* KEYS: leader, seq, log, replicator epoch, then one photo hash per
 * update. ARGV: lease, log max length, the caller's replicator epoch ("0":
 * not the replicator, as for dir_script_update), then
 * per update 2: record (no seq) and the seq it must still hold. Many
 * UpdateLocations in one fenced script (one fence check, one AOF fsync):
 * {-3, current epoch} alone when the replicator's lease passed to another
 * (nothing written), else a flat {how, seq} pair per update: 1 committed
 * at seq, -2 the record moved on (its seq now). */
struct rt_redis_script dir_script_update_batch = { "update_batch",
	FENCE SEQ_FIELD
	"if ARGV[3] ~= '0' then\n"
	"  local e = tonumber(redis.call('GET', KEYS[4]) or '0')\n"
	"  if tonumber(ARGV[3]) < e then return {-3, e} end\n"
	"end\n"
	"local out = {}\n"
	"for i = 5, #KEYS do\n"
	"  local a = 4 + (i - 5) * 2\n"
	"  local cur = redis.call('HGET', KEYS[i], 'seq')\n"
	"  if cur ~= ARGV[a+1] then\n"
	"    out[#out+1] = -2\n"
	"    out[#out+1] = tonumber(cur or 0)\n"
	"  else\n"
	"    local seq = redis.call('INCR', KEYS[2])\n"
	"    local rec = ARGV[a] .. seqfield(seq)\n"
	"    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',"
	" 'rec', rec, 'by', ARGV[1])\n"
	"    redis.call('HSET', KEYS[i], 'rec', rec, 'seq', seq)\n"
	"    out[#out+1] = 1\n"
	"    out[#out+1] = seq\n"
	"  end\n"
	"end\n"
	"return out\n",
	"" };

/* KEYS: leader, epoch, seq. ARGV: lease, the highest epoch and seq any
 * store or directory reported. Raises the counters to them (never
 * lowers), so after a failover that lost a tail of the metadata neither
 * an epoch nor a seq is handed out twice. {epoch, seq} as they now are. */
struct rt_redis_script dir_script_raise = { "raise",
	FENCE
	"local function up(k, v)\n"
	"  local cur = tonumber(redis.call('GET', k) or '0')\n"
	"  if cur < tonumber(v) then redis.call('SET', k, v); return tonumber(v) end\n"
	"  return cur\n"
	"end\n"
	"return {up(KEYS[2], ARGV[2]), up(KEYS[3], ARGV[3])}\n",
	"" };

void
dir_scripts_init(void)
{
	rt_redis_script_init(&dir_script_acquire);
	rt_redis_script_init(&dir_script_refresh);
	rt_redis_script_init(&dir_script_release);
	rt_redis_script_init(&dir_script_register);
	rt_redis_script_init(&dir_script_update);
	rt_redis_script_init(&dir_script_put_store);
	rt_redis_script_init(&dir_script_restore);
	rt_redis_script_init(&dir_script_new_group);
	rt_redis_script_init(&dir_script_grant);
	rt_redis_script_init(&dir_script_principal);
	rt_redis_script_init(&dir_script_update_batch);
	rt_redis_script_init(&dir_script_raise);
}
