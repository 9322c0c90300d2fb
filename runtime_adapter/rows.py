"""The read model: a run's listing row, a list query and its page, usage buckets, cursors.

Plain data with no behaviour beyond paging; derived columns are computed in
`runtime_adapter.queries.listing` and stores answer queries with these types.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from runtime_adapter.records import StoreEntry

STEP_SAMPLE = 20
ATTENTION_STATUSES = ("failed", "waiting_for_approval", "paused")
SORTS = ("created", "updated", "duration", "cost")
STATUSES = ("pending", "running", "waiting_for_approval", "paused", "completed", "failed", "cancelled")


@dataclass
class RunRow:
    id: str
    status: str
    input_text: str
    output_text: str
    error_text: str
    created_at: str | None
    updated_at: str | None
    ended_at: str | None
    duration_ms: float | None
    prompt_tokens: float
    completion_tokens: float
    total_tokens: float
    cost: float
    release: str | None
    root_run_id: str
    parent_run_id: str | None
    branch_origin_run_id: str | None
    branch_checkpoint_id: str | None
    correlation_ids: list[str]
    step_count: int
    event_count: int
    tool_call_count: int
    error_count: int
    child_count: int
    pending_approval: bool
    pending_pause: bool
    needs_attention: bool
    incident_type: str | None
    recommended_action: str | None
    top_recommendation: str | None
    # The failure signature of a run that needs attention (NULL otherwise; see
    # queries.failure_signature): runs with the same `cluster_id` are one failure cluster.
    cluster_id: str | None
    failure_step_type: str | None
    failure_tool: str | None
    error_name: str | None
    message_template: str | None
    input_key: str  # a hash of the whole input: runs with equal keys had the same input
    source: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # Per tool (`tools`, by payload.toolName of tool steps) and per step type (`types`):
    # [steps, failed steps, the first STEP_SAMPLE durations in ms], for release comparisons.
    step_stats: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class FleetRow:
    """The columns of a row that views over many runs (clusters, releases) read: cheap to fetch in bulk."""

    id: str
    status: str
    created_at: str | None
    release: str | None
    root_run_id: str
    duration_ms: float | None
    total_tokens: float
    cost: float
    input_key: str
    cluster_id: str | None
    incident_type: str | None
    failure_step_type: str | None
    failure_tool: str | None
    error_name: str | None
    message_template: str | None
    recommended_action: str | None
    step_stats: str = ""  # RunRow.step_stats as JSON, when asked for (release comparisons)


FLEET_COLUMNS: tuple[str, ...] = tuple(name for name in FleetRow.__dataclass_fields__ if name != "step_stats")


@dataclass(frozen=True)
class LatestRun:
    """A release's newest run of one input, as a release comparison pairs it."""

    id: str
    input_key: str
    status: str
    duration_ms: float | None
    cost: float

    @classmethod
    def of(cls, row: FleetRow) -> LatestRun:
        return cls(id=row.id, input_key=row.input_key, status=row.status, duration_ms=row.duration_ms, cost=row.cost)


LATEST_COLUMNS: tuple[str, ...] = tuple(LatestRun.__dataclass_fields__)


@dataclass(frozen=True)
class InputMatch:
    """A run whose listed input text is one asked for: what finding the same input in other releases sorts on."""

    id: str
    created_at: str | None
    release: str | None
    input_key: str


INPUT_MATCH_COLUMNS: tuple[str, ...] = tuple(InputMatch.__dataclass_fields__)


@dataclass
class Cluster:
    """Runs that failed (or wait, or paused) the same way: one failure signature (`queries.fleet` groups them)."""

    id: str
    count: int
    incident_type: str
    step_type: str
    tool_name: str
    error_name: str
    message_template: str
    first_seen: str | None
    last_seen: str | None
    releases: dict[str, int]
    sample_run_ids: list[str]
    recommended_action: str | None
    newest_run_id: str
    share: float  # of the runs in scope
    timeline: list[int] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id, "count": self.count, "incidentType": self.incident_type, "toolName": self.tool_name,
            "errorName": self.error_name, "messageTemplate": self.message_template, "firstSeen": self.first_seen,
            "lastSeen": self.last_seen, "releases": dict(self.releases), "sampleRunIds": list(self.sample_run_ids),
            "recommendedAction": self.recommended_action,
        }


@dataclass
class ClusterReport:
    clusters: list[Cluster]
    runs: int  # runs in scope (the share's denominator)
    window: tuple[str, str] | None  # the timeline's span, when any run in scope has a time


@dataclass
class Distribution:
    """Percentiles and mean of one measure's finite values (`queries.fleet.distribution` makes them)."""

    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    mean: float | None
    # Ascending: every value, or past SHAPE_POINTS values the 0.1 % quantiles (min and max exact). What the
    # comparison charts draw; a payload cached for a million runs stays small.
    values: list[float]


@dataclass
class ReleaseSummary:
    """The runs in scope that carry one release label: outcomes, first and last run, and distributions."""

    release: str
    runs: int
    failed: int
    waiting: int
    paused: int
    first_seen: str | None
    last_seen: str | None
    duration: Distribution
    tokens: Distribution
    cost: Distribution

    @property
    def failure_rate(self) -> float:
        return self.failed / self.runs if self.runs else 0.0

    @property
    def waiting_rate(self) -> float:
        return self.waiting / self.runs if self.runs else 0.0

    @property
    def paused_rate(self) -> float:
        return self.paused / self.runs if self.runs else 0.0

    def as_api(self) -> dict[str, Any]:
        return {
            "release": self.release, "runs": self.runs, "failed": self.failed, "failureRate": self.failure_rate,
            "waitingRate": self.waiting_rate, "pausedRate": self.paused_rate,
            "firstSeen": self.first_seen, "lastSeen": self.last_seen,
            "duration": {"p50": self.duration.p50, "p95": self.duration.p95},
            "tokens": {"mean": self.tokens.mean}, "cost": {"mean": self.cost.mean},
        }


@dataclass(frozen=True)
class StepTotal:
    """One tool's (or step type's) steps over the runs in scope: how many, how many failed, median duration."""

    calls: int
    failed: int
    p50_ms: float | None


# Per section ("tools", "types") and name.
StepTotals = dict[str, dict[str, StepTotal]]


@dataclass(frozen=True)
class RunQuery:
    """A validated list request. Times are ISO-8601 strings compared as the runtime writes them."""

    statuses: tuple[str, ...] = ()
    release: str | None = None
    text: str | None = None
    correlation_id: str | None = None
    cluster_id: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    roots_only: bool = False
    attention_only: bool = False
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = 50
    count_all: bool = False  # count every match even of a search (a share's denominator), not up to SEARCH_COUNT_CAP

    def selection(self) -> RunQuery:
        """Which runs this query selects, whatever their order, page or how they are counted: two queries with the
        same selection filter alike (`RunQuery().selection()` is every run)."""
        return replace(self, sort="created", descending=True, offset=0, limit=0, count_all=False)


# A search counts its matches up to this many; past it, the page says "more than" (a store with an index).
SEARCH_COUNT_CAP = 1000


@dataclass
class RunPage:
    rows: list[RunRow]
    total: int  # with total_exact False, a lower bound: more than this many match
    query: RunQuery
    errors: list[StoreEntry] = field(default_factory=list)
    total_exact: bool = True
    more: bool | None = None  # whether a next page has rows, where the store knows it (an inexact total)

    @property
    def has_next(self) -> bool:
        if self.more is not None:
            return self.more
        return self.query.offset + len(self.rows) < self.total

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.query.offset + self.query.limit) if self.has_next else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset inside an opaque cursor; ValueError when it was not made by us."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None
    if not text.startswith("o:") or not text[2:].isdigit():
        raise ValueError("invalid cursor")
    return int(text[2:])


@dataclass(frozen=True)
class UsageBucket:
    start: str
    end: str
    runs: int = 0
    prompt_tokens: float = 0
    completion_tokens: float = 0
    total_tokens: float = 0
    cost: float = 0
    failed: int = 0  # runs of the bucket whose status is failed
