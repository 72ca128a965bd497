"""Unit tests for replicator.events.decode_message: Debezium envelopes in, ChangeEvent out."""

from __future__ import annotations

import json

import pytest

from builders import (
    DEFAULT_TS_MS,
    developer_row,
    envelope,
    heartbeat,
    heartbeat_key,
    key,
    mysql_event,
    mysql_source,
    mysql_topic,
    pg_event,
    pg_topic,
    schema_change,
    transaction_event,
    with_schema,
)
from replicator.errors import DecodeError
from replicator.events import ChangeEvent, KafkaCoordinates, decode_message

TOPIC = mysql_topic("Developer")
PG_TOPIC = pg_topic("messages")


def decode(value: bytes | None, k: bytes | None = None, *, topic: str = TOPIC,
           partition: int = 2, offset: int = 41) -> ChangeEvent:
    return decode_message(topic, partition, offset, k, value)


# --- MySQL change events ---------------------------------------------------------------------


def test_mysql_create():
    row = developer_row(7)
    ev = decode(mysql_event("c", "Developer", after=row, pos=900, row=0), key(id=7))
    assert ev.kind == "change"
    assert ev.op == "c"
    assert ev.coordinates == KafkaCoordinates(TOPIC, 2, 41)
    assert ev.source_connector == "mysql"
    assert ev.source_name == "legacy_main"
    assert ev.database == "legacy_main"
    assert ev.schema is None
    assert ev.table == "Developer"
    assert ev.source_table == "legacy_main.Developer"
    assert ev.key == {"id": 7}
    assert ev.before is None
    assert ev.after == row
    assert ev.row == row
    assert ev.position == (3, 900, 0)
    assert ev.source_ts_ms == DEFAULT_TS_MS
    assert ev.snapshot is False
    assert ev.transaction_id is None
    assert ev.ddl is None


def test_mysql_update_row_is_after_image():
    before = developer_row(7, name="Old")
    after = developer_row(7, name="New")
    ev = decode(mysql_event("u", "Developer", before=before, after=after), key(id=7))
    assert ev.op == "u"
    assert ev.before == before
    assert ev.after == after
    assert ev.row["name"] == "New"


def test_mysql_delete_row_is_before_image():
    before = developer_row(7)
    ev = decode(mysql_event("d", "Developer", before=before), key(id=7))
    assert ev.op == "d"
    assert ev.after is None
    assert ev.row == before


def test_mysql_snapshot_read():
    row = developer_row(3)
    ev = decode(mysql_event("r", "Developer", after=row, snapshot="true"), key(id=3))
    assert ev.op == "r"
    assert ev.snapshot is True
    assert ev.row == row


@pytest.mark.parametrize("marker", ["first", "last", "true", "incremental"])
def test_mysql_snapshot_markers_all_mean_snapshot(marker):
    ev = decode(mysql_event("r", "Developer", after=developer_row(1), snapshot=marker))
    assert ev.snapshot is True


def test_transaction_id_is_carried():
    ev = decode(mysql_event("c", "Developer", after=developer_row(1),
                            transaction={"id": "file=binlog.000003,pos=800", "total_order": 1,
                                         "data_collection_order": 1}))
    assert ev.transaction_id == "file=binlog.000003,pos=800"


def test_message_key_that_is_not_an_object_is_dropped():
    ev = decode(mysql_event("c", "Developer", after=developer_row(1)), b"42")
    assert ev.key is None


# --- PostgreSQL change events ----------------------------------------------------------------


def _message(id_: int = 5, body: str = "hi") -> dict:
    return {"id": id_, "body": body, "author_id": 7}


def test_pg_create():
    row = _message()
    ev = decode(pg_event("c", "messages", after=row, lsn=5000, commit_lsn=4900), key(id=5),
                topic=PG_TOPIC)
    assert ev.kind == "change"
    assert ev.op == "c"
    assert ev.source_connector == "postgresql"
    assert ev.source_name == "legacy_chat"
    assert ev.database == "legacy_chat"
    assert ev.schema == "public"
    assert ev.table == "messages"
    assert ev.source_table == "legacy_chat.public.messages"
    assert ev.key == {"id": 5}
    assert ev.after == row
    assert ev.position == (4900, 5000)
    assert ev.snapshot is False


def test_pg_update_and_delete():
    before, after = _message(body="a"), _message(body="b")
    u = decode(pg_event("u", "messages", before=before, after=after), topic=PG_TOPIC)
    d = decode(pg_event("d", "messages", before=after), topic=PG_TOPIC)
    assert (u.op, u.row) == ("u", after)
    assert (d.op, d.row, d.after) == ("d", after, None)


def test_pg_snapshot_read_sorts_below_every_streamed_change():
    ev = decode(pg_event("r", "messages", after=_message(), lsn=777, commit_lsn=None,
                         snapshot="true"), topic=PG_TOPIC)
    assert ev.op == "r"
    assert ev.snapshot is True
    assert ev.position == (0, 777)  # snapshot rows never override a streamed change


# --- positions ---------------------------------------------------------------------------------


def _mysql_pos(file: str, pos: int, row: int = 0) -> tuple[int, ...]:
    return decode(mysql_event("c", "Developer", after=developer_row(1), file=file, pos=pos,
                              row=row)).position


def test_mysql_position_orders_by_file_number_then_pos_then_row():
    ordered = [
        _mysql_pos("binlog.000003", 900, 0),
        _mysql_pos("binlog.000003", 900, 1),
        _mysql_pos("binlog.000003", 901, 0),
        _mysql_pos("binlog.000004", 4, 0),
        _mysql_pos("binlog.000010", 4, 0),  # numerically, not as text: 10 > 9
        _mysql_pos("binlog.000100", 4, 0),
    ]
    assert ordered == sorted(ordered)
    assert len(set(ordered)) == len(ordered)
    assert ordered[0] == (3, 900, 0)
    assert ordered[-1] == (100, 4, 0)


def test_mysql_position_uses_the_file_number_not_the_base_name():
    assert _mysql_pos("mysql-bin.000002", 10) == (2, 10, 0)
    assert _mysql_pos("/var/lib/mysql/host-bin.123456", 10) == (123456, 10, 0)


def _pg_pos(commit_lsn: int | None, lsn: int) -> tuple[int, ...]:
    return decode(pg_event("c", "messages", after=_message(), commit_lsn=commit_lsn, lsn=lsn),
                  topic=PG_TOPIC).position


def test_pg_position_orders_by_commit_lsn_then_lsn():
    # transaction A commits at 2000 with changes at 1500 and 1900; transaction B started
    # earlier (change at 1200) but commits later at 3000: B's change is newer than A's
    a1, a2, b1 = _pg_pos(2000, 1500), _pg_pos(2000, 1900), _pg_pos(3000, 1200)
    assert a1 < a2 < b1
    assert (a1, a2, b1) == ((2000, 1500), (2000, 1900), (3000, 1200))


def test_pg_lsn_as_string_is_read_numerically():
    src = {"connector": "postgresql", "name": "legacy_chat", "db": "legacy_chat", "schema": "public",
           "table": "messages", "lsn": "10", "sequence": '["9","10"]', "ts_ms": 1}
    ev = decode(json.dumps(envelope("c", src, after=_message())).encode(), topic=PG_TOPIC)
    assert ev.position == (9, 10)


# --- tombstones, schema changes, transactions, heartbeats --------------------------------------


def test_tombstone():
    ev = decode(None, key(id=7))
    assert ev.kind == "tombstone"
    assert ev.key == {"id": 7}
    assert ev.op is None
    assert ev.coordinates == KafkaCoordinates(TOPIC, 2, 41)


def test_tombstone_without_key():
    ev = decode(None, None)
    assert ev.kind == "tombstone"
    assert ev.key is None


def test_schema_change_event():
    ddl = "ALTER TABLE `Developer` ADD COLUMN `bio` TEXT NULL"
    ev = decode(schema_change(ddl, db="legacy_main", ts_ms=1234), key(databaseName="legacy_main"),
                topic="legacy_main")
    assert ev.kind == "schema_change"
    assert ev.op is None
    assert ev.ddl == ddl
    assert ev.database == "legacy_main"
    assert ev.source_name == "legacy_main"
    assert ev.source_ts_ms == 1234


def test_schema_change_with_only_table_changes():
    value = json.dumps({"source": {"name": "legacy_main", "db": "legacy_main", "ts_ms": 5},
                        "databaseName": "legacy_main", "tableChanges": []}).encode()
    ev = decode(value, topic="legacy_main")
    assert ev.kind == "schema_change"
    assert ev.ddl is None


@pytest.mark.parametrize("status,count,collections", [
    ("BEGIN", None, None),
    ("END", 2, [{"data_collection": "legacy_main.Developer", "event_count": 2}]),
])
def test_transaction_metadata(status, count, collections):
    tx = "file=binlog.000003,pos=800"
    ev = decode(transaction_event(status, tx, event_count=count, data_collections=collections,
                                  ts_ms=99), key(id=tx), topic="legacy_main.transaction")
    assert ev.kind == "transaction"
    assert ev.transaction_id == tx
    assert ev.source_ts_ms == 99
    assert ev.op is None


def test_heartbeat():
    ev = decode(heartbeat(ts_ms=555), heartbeat_key(), topic="__debezium-heartbeat.legacy_main")
    assert ev.kind == "heartbeat"
    assert ev.source_ts_ms == 555
    assert ev.op is None


def test_heartbeat_recognised_by_shape_on_any_topic():
    ev = decode(heartbeat(ts_ms=556), topic="custom-heartbeats")
    assert ev.kind == "heartbeat"
    assert ev.source_ts_ms == 556


# --- schemas.enable=true envelope ------------------------------------------------------------


def test_schema_wrapped_envelope_is_accepted():
    row = developer_row(9)
    plain = decode(mysql_event("u", "Developer", before=row, after=row, pos=77), key(id=9))
    wrapped = decode(with_schema(mysql_event("u", "Developer", before=row, after=row, pos=77)),
                     key(id=9))
    assert wrapped == plain
    assert wrapped.kind == "change"
    assert wrapped.position == (3, 77, 0)


# --- malformed messages ------------------------------------------------------------------------


def _assert_names_coordinates(exc: DecodeError, topic: str = TOPIC) -> None:
    text = str(exc)
    assert f"topic={topic}" in text
    assert "partition=2" in text
    assert "offset=41" in text


def _raw(op: str, **changes) -> bytes:
    env = envelope(op, mysql_source("Developer"), after=developer_row(1))
    env.update(changes)
    return json.dumps(env).encode()


def test_value_not_json():
    with pytest.raises(DecodeError, match="not JSON") as info:
        decode(b'{"op": "c", ')
    _assert_names_coordinates(info.value)


def test_value_not_utf8():
    with pytest.raises(DecodeError) as info:
        decode(b"\xff\xfe\x00garbage")
    _assert_names_coordinates(info.value)


def test_key_not_json():
    with pytest.raises(DecodeError, match="message key is not JSON") as info:
        decode(mysql_event("c", "Developer", after=developer_row(1)), b"{id:")
    _assert_names_coordinates(info.value)


def test_value_is_a_json_array():
    with pytest.raises(DecodeError, match="not a JSON object") as info:
        decode(b'[{"op": "c"}]')
    _assert_names_coordinates(info.value)


def test_unknown_op_truncate():
    with pytest.raises(DecodeError, match="unsupported op 't'") as info:
        decode(_raw("t", after=None))
    _assert_names_coordinates(info.value)


def test_delete_without_before():
    with pytest.raises(DecodeError, match="op d without the row image") as info:
        decode(_raw("d", before=None, after=None))
    _assert_names_coordinates(info.value)


def test_create_without_after():
    with pytest.raises(DecodeError, match="op c without the row image") as info:
        decode(_raw("c", after=None))
    _assert_names_coordinates(info.value)


def test_missing_source():
    env = envelope("c", None, after=developer_row(1))
    del env["source"]
    with pytest.raises(DecodeError, match="without a source block") as info:
        decode(json.dumps(env).encode())
    _assert_names_coordinates(info.value)


def test_object_that_is_no_envelope():
    with pytest.raises(DecodeError, match="not a Debezium envelope") as info:
        decode(b'{"hello": "world"}')
    _assert_names_coordinates(info.value)


def test_binlog_file_without_number():
    with pytest.raises(DecodeError, match="no sequence number") as info:
        decode(mysql_event("c", "Developer", after=developer_row(1), file="binlog"))
    _assert_names_coordinates(info.value)


def test_binlog_file_without_number_is_a_decode_error():
    # the part of the above that holds today: it is at least a DecodeError naming the file
    with pytest.raises(DecodeError, match="no sequence number.*file=binlog"):
        decode(mysql_event("c", "Developer", after=developer_row(1), file="binlog"))


def test_unreadable_pg_sequence():
    src = {"connector": "postgresql", "name": "legacy_chat", "db": "legacy_chat", "schema": "public",
           "table": "messages", "lsn": 10, "sequence": "[not json", "ts_ms": 1}
    with pytest.raises(DecodeError, match="sequence") as info:
        decode(json.dumps(envelope("c", src, after=_message())).encode(), topic=PG_TOPIC)
    _assert_names_coordinates(info.value, PG_TOPIC)


def test_decode_errors_are_terminal():
    with pytest.raises(DecodeError) as info:
        decode(b"nope")
    assert info.value.transient is False


@pytest.mark.parametrize("connector,field", [("mysql", "pos"), ("postgresql", "lsn")])
def test_non_numeric_position_field_is_a_decode_error(connector, field):
    if connector == "mysql":
        src = mysql_source("Developer")
    else:
        src = {"connector": "postgresql", "name": "legacy_chat", "db": "legacy_chat",
               "schema": "public", "table": "messages", "lsn": 10, "sequence": None, "ts_ms": 1}
    src[field] = "abc"
    with pytest.raises(DecodeError) as info:
        decode(json.dumps(envelope("c", src, after=developer_row(1))).encode())
    _assert_names_coordinates(info.value)


def test_the_hot_path_builds_complete_events():
    """decode_message builds ChangeEvent and KafkaCoordinates with tuple.__new__ (no
    NamedTuple __new__): every field must be there, as the keyword constructor makes them."""
    from replicator.events import ChangeEvent, KafkaCoordinates

    ev = decode_message(mysql_topic("Developer"), 2, 7, key(id=1),
                        mysql_event("u", "Developer", before={"id": 1}, after={"id": 1, "email": "a"}))
    assert len(ev) == len(ChangeEvent._fields) and len(ev.coordinates) == len(KafkaCoordinates._fields)
    assert ev == ChangeEvent(**ev._asdict())
    assert ev.coordinates == KafkaCoordinates(mysql_topic("Developer"), 2, 7)
    assert (ev.ddl, ev.table_changes, ev.op, ev.after) == (None, (), "u", {"id": 1, "email": "a"})
