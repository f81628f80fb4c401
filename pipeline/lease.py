"""A Redis lease: one holder at a time, lost by a holder that stops renewing it.

Acquiring, renewing, releasing and writing under the lease are each one Lua script, so a
holder whose lease expired can never renew it after another process took it, nor write
on its behalf.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from eros.core.clock import MS_PER_SECOND

_ACQUIRE_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] the lease, KEYS[2] a hash; ARGV: holder, then field/value pairs.
_HSET_IF_HELD_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1
"""


class Lease:
    def __init__(self, connection: redis.Redis, key: str, holder: str, ttl_seconds: float):
        self.key = key
        self.holder = holder
        self._ttl_ms = int(ttl_seconds * MS_PER_SECOND)
        self._connection = connection
        self._acquire = connection.register_script(_ACQUIRE_SCRIPT)
        self._release = connection.register_script(_RELEASE_SCRIPT)
        self._hset = connection.register_script(_HSET_IF_HELD_SCRIPT)

    def acquire(self) -> bool:
        """Take the lease if free, renew it if ours; False if another process holds it."""
        return bool(self._acquire(keys=[self.key], args=[self.holder, self._ttl_ms]))

    def release(self) -> bool:
        """Give the lease up at once, so that a standby need not wait for it to expire."""
        return bool(self._release(keys=[self.key], args=[self.holder]))

    def hset_if_held(self, key: str, mapping: Mapping[str, str | int | float]) -> bool:
        """Write `mapping` into the hash `key` only while holding the lease."""
        pairs = [item for field, value in mapping.items() for item in (field, value)]
        return bool(self._hset(keys=[self.key, key], args=[self.holder, *pairs]))
