"""Redis (redis.asyncio + hiredis) stores for multi-process deployments: history, dedup, rate
limits and a distributed session lock. Each takes one shared client from the composition root
(which also closes it); constructors do no I/O. Keys share a configurable prefix.

Scripts touch several keys of one store at once, so these stores target a single Redis node
(or a primary with replicas / Sentinel), not Redis Cluster.
"""
