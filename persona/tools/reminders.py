"""Reminder tools over `persona.reminders.port.ReminderBook`: offered only when a book is wired in.
The book scopes everything to the author of the origin message; these tools only translate."""

from __future__ import annotations

from typing import Any

from persona.reminders.port import ReminderBook, ReminderError, ReminderView
from persona.tools.base import Tool, ToolContext, ToolError, schema, string_argument


def _line(view: ReminderView) -> str:
    return f"- [{view.id}] {view.local_due}: {view.text} ({view.where})"


class SetReminder:
    name = "set_reminder"
    description = (
        "Set a reminder for the person, delivered here at the time. `when` is ISO 8601 or a "
        "phrase such as 'in 2 minutes' or 'tomorrow at 9'."
    )
    parameters = schema(
        {
            "text": {"type": "string", "description": "what to remind them of"},
            "when": {"type": "string", "description": "when, ISO 8601 or a phrase"},
        },
        ("text", "when"),
    )
    available = True

    def __init__(self, book: ReminderBook) -> None:
        self._book = book

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        text, when = string_argument(arguments, "text"), string_argument(arguments, "when")
        try:
            view = await self._book.schedule(context.origin, text=text, when=when)
        except ReminderError as error:
            raise ToolError(str(error)) from None
        return f"Reminder set:\n{_line(view)}"


class ListReminders:
    name = "list_reminders"
    description = "List the person's reminders not yet delivered, soonest first."
    parameters = schema({})
    available = True

    def __init__(self, book: ReminderBook) -> None:
        self._book = book

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        views = await self._book.upcoming(context.origin)
        return "\n".join(_line(view) for view in views) or "No reminders are set."


class CancelReminder:
    name = "cancel_reminder"
    description = "Cancel one of the person's reminders by its id (see list_reminders)."
    parameters = schema({"id": {"type": "string", "description": "the reminder's id"}}, ("id",))
    available = True

    def __init__(self, book: ReminderBook) -> None:
        self._book = book

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        reminder_id = string_argument(arguments, "id")
        view = await self._book.cancel(context.origin, reminder_id)
        if view is None:
            raise ToolError(f"no reminder of theirs has the id {reminder_id!r}")
        return f"Cancelled:\n{_line(view)}"


def reminder_tools(book: ReminderBook | None) -> list[Tool]:
    """None without a book: a persona never hears of reminders it cannot set."""
    if book is None:
        return []
    return [SetReminder(book), ListReminders(book), CancelReminder(book)]
