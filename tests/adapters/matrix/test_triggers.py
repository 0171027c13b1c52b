"""Pure trigger rules, command parsing and settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.matrix.settings import MatrixSettings, ResolvedPolicy, RoomPolicy
from adapters.matrix.triggers import (
    is_addressed,
    mentions_user,
    parse_command,
    read_relations,
    strip_reply_fallback,
)

BOT = "@familiar:example.org"


def settings(**values: object) -> MatrixSettings:
    return MatrixSettings.model_validate(
        {"homeserver": "https://example.org", "user_id": BOT, "password": "pw", **values}
    )


def test_a_pill_mentions_the_bot() -> None:
    content = {"formatted_body": f'<a href="https://matrix.to/#/{BOT}">Familiar</a>: hi'}
    assert mentions_user(content, user_id=BOT, display_name="Familiar", body="Familiar: hi")


def test_intentional_mentions_count() -> None:
    content = {"m.mentions": {"user_ids": [BOT]}}
    assert mentions_user(content, user_id=BOT, display_name=None, body="hey you")


def test_display_name_only_as_a_whole_word() -> None:
    assert mentions_user({}, user_id=BOT, display_name="Kit", body="kit, what's up?")
    assert not mentions_user({}, user_id=BOT, display_name="Kit", body="my kitchen is on fire")


def test_thread_fallback_reply_is_not_a_real_reply() -> None:
    relations = read_relations(
        {
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$last"},
            }
        }
    )
    assert relations.thread_root == "$root"
    assert relations.reply_to is None


def test_edits_are_recognised() -> None:
    relations = read_relations({"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}})
    assert relations.replaces == "$x"


def test_reply_fallback_quote_is_stripped() -> None:
    assert strip_reply_fallback("> <@a:b> earlier\n> more\n\nmy answer") == "my answer"
    assert strip_reply_fallback("plain") == "plain"


@pytest.mark.parametrize(
    ("trigger", "is_dm", "mentioned", "expected"),
    [
        ("mention", False, False, False),
        ("mention", False, True, True),
        ("mention", True, False, True),
        ("open", False, False, True),
        ("off", True, True, False),
    ],
)
def test_trigger_modes(trigger: str, is_dm: bool, mentioned: bool, expected: bool) -> None:
    policy = ResolvedPolicy(trigger=trigger)  # type: ignore[arg-type]
    addressed = is_addressed(
        policy=policy, is_dm=is_dm, mentions_bot=mentioned, reply_to_bot=False, in_bot_thread=False
    )
    assert addressed is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!familiar memory", ("memory", "")),
        ("!familiar forget my old address", ("forget", "my old address")),
        ("!familiar kb search green tea", ("kb_search", "green tea")),
        ("!familiar kb add Title\nbody", ("kb_add", "Title\nbody")),
        ("!familiar", ("help", "")),
        ("!familiarity is nice", None),
        ("hello !familiar memory", None),
    ],
)
def test_command_parsing(body: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(body) == expected


def test_invite_allowlist_matches_users_servers_and_rooms() -> None:
    config = settings(invite_allowlist=["@alice:example.org", "friends.org", "!room:x.org", "*:team.net"])
    assert config.invite_allowed(inviter="@alice:example.org", room_id="!a:b")
    assert config.invite_allowed(inviter="@bob:friends.org", room_id="!a:b")
    assert config.invite_allowed(inviter="@eve:evil.org", room_id="!room:x.org")
    assert config.invite_allowed(inviter="@carol:team.net", room_id="!a:b")
    assert not config.invite_allowed(inviter="@eve:evil.org", room_id="!a:b")


def test_room_policy_layers_inherit() -> None:
    config = settings(
        defaults={"persona": "sage"},
        rooms={"!loud:x": RoomPolicy(trigger="open")},
    )
    room = config.policy_for("!loud:x", is_dm=False)
    assert (room.trigger, room.persona) == ("open", "sage")
    assert config.policy_for("!other:x", is_dm=False).trigger == "mention"
    assert config.policy_for("!dm:x", is_dm=True).trigger == "open"


def test_credentials_are_required_and_secret() -> None:
    with pytest.raises(ValidationError, match="password"):
        MatrixSettings.model_validate({"homeserver": "https://x", "user_id": BOT})
    assert "pw" not in repr(settings())
