"""Engine settings: one pydantic sub-model the composition root places in the app's settings tree.

Nothing here reads the environment; `bot/` builds `EngineSettings` from its own tree and passes
it to `PersonaEngine`. No secrets live here, so `config` may show the whole model to an admin.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SourceDeadlines(BaseModel):
    """Seconds each gathering source may take before it degrades to empty for this turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    links_s: float = Field(default=0.3, gt=0)
    history_s: float = Field(default=0.5, gt=0)
    memory_s: float = Field(default=1.0, gt=0)
    kb_s: float = Field(default=1.0, gt=0)
    # Facts carry the user's constraints, so they get the most generous deadline.
    facts_s: float = Field(default=1.5, gt=0)
    journal_s: float = Field(default=0.5, gt=0)


class JobSettings(BaseModel):
    """The background queue for post-turn work (storing the turn, learning, journaling)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workers: int = Field(default=2, ge=1, le=64)
    # Jobs one `familiar worker` process runs at a time (the shared queue). A job mostly waits on
    # its learning call, so two at a time left a worker idle: 3.4 turns/s with a 500 ms call.
    worker_jobs: int = Field(default=16, ge=1, le=256)
    max_pending: int = Field(default=1000, ge=1)
    retries: int = Field(default=3, ge=0, le=10)  # attempts after the first
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    drain_timeout_s: float = Field(default=15.0, ge=0)
    # A job the queue gave up on because a store was unreachable waits in the outbox, doubling
    # from the base up to the max; a provider's brief outage (429, 5xx) gets this many such waits,
    # then the job is dead-lettered like any other that keeps failing.
    postpone_base_s: float = Field(default=5.0, gt=0)
    postpone_max_s: float = Field(default=300.0, gt=0)
    transient_postpones: int = Field(default=5, ge=0)
    # With REDIS_URL: how long a worker holds a job without renewing before another may take it
    # (a dead worker's jobs run again this long after it died; a failed job is retried after it).
    lease_s: float = Field(default=30.0, gt=0)


class ToolSettings(BaseModel):
    """Tool calls within one turn (see `persona.tools`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Rounds of tool calls a turn may run; then the model is asked to answer in words.
    max_rounds: int = Field(default=4, ge=0, le=16)
    call_timeout_s: float = Field(default=20.0, gt=0)  # one call; a late tool becomes an error result
    max_output_chars: int = Field(default=4000, ge=100)  # a longer output is cut (with a note)


class EngineSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deadlines: SourceDeadlines = Field(default_factory=SourceDeadlines)
    jobs: JobSettings = Field(default_factory=JobSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    rate_limit_per_minute: int = Field(default=20, ge=0)  # 0 = unlimited
    daily_token_quota: int = Field(default=200_000, ge=0)  # per identity per UTC day; 0 = unlimited
    dedup_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)  # how long an answered event is refused
    # An event in progress is claimed under this lease, renewed while its turn waits and runs: a
    # process that dies mid-turn frees it within the lease, and its re-delivery is answered.
    claim_lease_s: float = Field(default=10.0, gt=0)
    claim_max_hold_s: float = Field(default=900.0, gt=0)  # admitted but never settled: released
    # A turn that runs longer is stopped with a friendly line (and gives up its session lock).
    turn_timeout_s: float = Field(default=180.0, gt=0)
    # Messages that waited longer than this (behind a stuck turn or an outage) get a turn each
    # instead of being merged into one.
    merge_window_s: float = Field(default=20.0, gt=0)
    outage_probe_s: float = Field(default=5.0, gt=0)  # while a store is down, try it this often
    link_code_ttl_s: float = Field(default=600.0, gt=0)
    admins: frozenset[str] = frozenset()  # identities ("discord:1234") allowed admin commands
