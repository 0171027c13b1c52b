"""Settings of reminders and check-ins (`FAMILIAR_REMINDERS__*`)."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field

from persona.reminders.checkins import CheckinSettings
from persona.reminders.scheduler import SchedulerSettings


class ReminderSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_s: float = Field(default=30.0, gt=0)  # reminders set by another process are seen this soon
    late_after_s: float = Field(default=120.0, ge=0)  # later than this past its time: "late: ..."
    quiet_start: time = time(22, 0)  # no check-in from this local time ...
    quiet_end: time = time(8, 0)  # ... until this one
    checkin_window_h: float = Field(default=3.0, gt=0)  # a check-in missed by more is skipped that day

    def scheduler(self) -> SchedulerSettings:
        return SchedulerSettings(poll_s=self.poll_s, late_after_s=self.late_after_s)

    def checkins(self) -> CheckinSettings:
        return CheckinSettings(
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            window_h=self.checkin_window_h,
            poll_s=min(self.poll_s * 2, 60.0),
        )
