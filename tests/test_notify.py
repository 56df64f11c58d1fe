"""Webhook delivery of the outbox against real HTTP receivers on 127.0.0.1, on both stores:
order, idempotency keys and signatures; retries with backoff that lose nothing; a dead or
hanging receiver that blocks neither the other webhooks nor the work loop; the PostgreSQL
row lock; the ``gridgeo outbox`` commands and the service's background delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from gridgeo.api.app import create_app
from gridgeo.caseflow import Action, Actor
from gridgeo.cli.main import main
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.notify import (
    Outcome,
    WebhookConfigError,
    backoff_s,
    deliver_once,
    outbox_status,
    read_outbox,
    redact,
    sign,
    verify_signature,
    webhook_urls,
)
from gridgeo.roles import Role
from gridgeo.settings import NotifySettings, Settings, StoreSettings
from gridgeo.store import schema as t
from gridgeo.store.cases import NewCase, report_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store

SECRET = "网格-secret-🔑"
OFFICE = Actor("office", Role.DISPATCHER)


# --- a real webhook receiver ---------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    """An HTTP server on a free loopback port that records every POST.

    ``statuses`` and ``delays`` script the first answers (then 200 at once); a
    delayed answer waits on an event that teardown sets, so no test waits it out.
    """

    def __init__(self, statuses: Sequence[int] = (), delays: Sequence[float] = ()) -> None:
        self.received: list[Received] = []
        self.statuses = list(statuses)
        self.delays = list(delays)
        self.in_flight = 0
        self.most_in_flight = 0
        self.got_request = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, delay = receiver.take(Received(self.path, headers, body))
                if delay:
                    receiver.release.wait(delay)
                with receiver._lock:
                    receiver.in_flight -= 1
                reply = b"thanks" if status < 300 else "收不了 / cannot take it".encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the sender gave up waiting (timeout test)
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, request: Received) -> tuple[int, float]:
        with self._lock:
            self.received.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            status = self.statuses.pop(0) if self.statuses else 200
            delay = self.delays.pop(0) if self.delays else 0.0
        self.got_request.set()
        return status, delay

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/gridgeo"

    @property
    def ids(self) -> list[int]:
        return [r.json["id"] for r in self.received]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/dead"


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as s:
        yield s


def new_case(store: Store, data: Dataset) -> int:
    """A reported case: one outbox message."""
    case = report_case(store, data, NewCase(lon=110.3005, lat=25.2785, category="0505"), actor="t")
    return case.id


def register(store: Store, case_id: int) -> None:
    act(store, case_id, ActionRequest(Action.REGISTER), OFFICE)


def outbox(store: Store) -> list[t.OutboxMessage]:
    with store.reading() as session:
        return list(session.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))


def cursor(store: Store, url: str) -> t.WebhookCursor:
    with store.reading() as session:
        return session.scalars(select(t.WebhookCursor).where(t.WebhookCursor.url == url)).one()


def hooks(*urls: str, **more: Any) -> Settings:
    timeout = more.pop("timeout", 2.0)
    return Settings(
        notify=NotifySettings(webhooks=",".join(urls), webhook_timeout_s=timeout, **more)
    )


# --- pure parts ----------------------------------------------------------------------------


def test_signature_is_the_hmac_of_the_exact_body() -> None:
    body = '{"id":1,"note":"占道经营"}'.encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == expected
    assert verify_signature(body, SECRET, expected)
    assert not verify_signature(body, "other", expected)
    assert not verify_signature(body + b" ", SECRET, expected)


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempts in range(1, 15):
        base = min(300.0, 2.0**attempts)
        for _ in range(20):
            assert 0.5 * base <= backoff_s(attempts, 300.0, rng) <= base
    assert backoff_s(10_000, 300.0, rng) <= 300.0  # no overflow after a long outage


def test_webhook_urls_are_checked_and_redacted() -> None:
    urls = webhook_urls(hooks(" http://a.example/h , ,http://a.example/h,https://b/x"))
    assert urls == ("http://a.example/h", "https://b/x")
    with pytest.raises(WebhookConfigError, match="ftp://host/x"):
        webhook_urls(hooks("http://ok.example/,ftp://host/x"))
    with pytest.raises(WebhookConfigError, match="with a host"):
        webhook_urls(hooks("https:///nohost"))
    with pytest.raises(WebhookConfigError, match="1012 characters"):
        webhook_urls(hooks("http://h/" + "x" * 1003))
    assert redact("https://u:pw@h.example:8443/p?token=abc") == "https://u:***@h.example:8443/p?***"
    assert redact("http://h/p") == "http://h/p"


def test_a_bad_webhook_url_stops_the_service_from_starting(sqlite_url: str) -> None:
    with pytest.raises(WebhookConfigError, match=r"mailto:ops@example\.cn"):
        create_app(
            Settings(
                notify=NotifySettings(webhooks="mailto:ops@example.cn"),
                store=StoreSettings(database_url=sqlite_url),
            )
        )


# --- delivery on both stores ---------------------------------------------------------------


def test_delivers_every_message_in_order_signed_with_idempotency_keys(
    store: Store, data: Dataset
) -> None:
    first = new_case(store, data)
    register(store, first)
    new_case(store, data)
    rows = outbox(store)
    assert len(rows) == 3
    with Receiver() as hook:
        before = time.time()
        report = deliver_once(store, hooks(hook.url, webhook_secret=SECRET))
        (result,) = report.webhooks
        assert result.outcome is Outcome.CAUGHT_UP and result.sent == 3 == report.sent
        assert result.delivered_id == rows[-1].id
        assert hook.ids == [r.id for r in rows]
        for got, row in zip(hook.received, rows, strict=True):
            assert got.path == "/hooks/gridgeo"
            assert got.json == {
                "id": row.id,
                "topic": "case.event",
                "created_at": row.created_at.isoformat(),
                "payload": {"event_id": row.event_id, **row.payload},
            }
            assert got.headers["content-type"] == "application/json"
            assert got.headers["idempotency-key"] == f"gridgeo-outbox-{row.id}"
            assert got.headers["x-gridgeo-event"] == "case.event"
            mac = hmac.new(SECRET.encode("utf-8"), got.body, hashlib.sha256).hexdigest()
            assert got.headers["x-gridgeo-signature"] == f"sha256={mac}"
            assert before - 1 <= int(got.headers["x-gridgeo-timestamp"]) <= time.time() + 1
        assert [r.json["payload"]["action"] for r in hook.received] == [
            "report",
            "register",
            "report",
        ]
        assert cursor(store, hook.url).delivered_id == rows[-1].id

        # caught up: nothing is sent again; a new event is sent alone
        assert deliver_once(store, hooks(hook.url)).sent == 0
        register(store, new_case(store, data))  # two more events
        report = deliver_once(store, hooks(hook.url))
        assert report.sent == 2 and len(hook.received) == 5
        assert "x-gridgeo-signature" not in hook.received[-1].headers  # no secret: unsigned
        assert hook.ids == sorted(hook.ids) and len(set(hook.ids)) == 5


def test_a_batch_limits_one_pass_and_the_next_goes_on(store: Store, data: Dataset) -> None:
    for _ in range(3):
        new_case(store, data)
    with Receiver() as hook:
        cfg = hooks(hook.url, webhook_batch=2)
        (first,) = deliver_once(store, cfg).webhooks
        assert first.outcome is Outcome.MORE and first.sent == 2
        (second,) = deliver_once(store, cfg).webhooks
        assert second.outcome is Outcome.CAUGHT_UP and second.sent == 1
        assert hook.ids == [m.id for m in outbox(store)]


def test_refusals_back_off_then_everything_arrives_and_the_other_url_is_served(
    store: Store, data: Dataset
) -> None:
    register(store, new_case(store, data))
    ids = [m.id for m in outbox(store)]
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with Receiver(statuses=[500, 503, 500]) as flaky, Receiver() as good:
        cfg = hooks(flaky.url, good.url, webhook_max_backoff_s=300)
        now, waits = t0, []
        for attempt in (1, 2, 3):
            bad, other = deliver_once(store, cfg, now=now).webhooks
            assert bad.outcome is Outcome.FAILED and bad.sent == 0 and bad.attempts == attempt
            assert "HTTP 5" in bad.error and f"message {ids[0]}" in bad.error
            assert "cannot take it" in bad.error  # the receiver's answer, for the operator
            state = cursor(store, flaky.url)
            assert state.delivered_id == 0 and state.attempts == attempt
            assert state.last_error == bad.error
            assert state.next_attempt_at is not None
            wait = (state.next_attempt_at - now).total_seconds()
            assert 0.5 * 2**attempt <= wait <= 2**attempt
            waits.append(wait)
            # before the backoff has passed the URL is not even tried
            before = len(flaky.received)
            bad, _ = deliver_once(store, cfg, now=now + timedelta(seconds=wait / 2)).webhooks
            assert bad.outcome is Outcome.WAITING and len(flaky.received) == before
            now += timedelta(seconds=wait + 0.001)
        # the other URL got everything on the first pass, each message once
        assert other.outcome is Outcome.CAUGHT_UP and good.ids == ids
        assert waits[0] < waits[2]

        bad, _ = deliver_once(store, cfg, now=now).webhooks
        assert bad.outcome is Outcome.CAUGHT_UP and bad.sent == len(ids)
        # the refused message was re-sent byte for byte, under the same idempotency key
        assert flaky.ids == [ids[0]] * 4 + ids[1:]
        assert len({r.body for r in flaky.received[:4]}) == 1
        assert {r.headers["idempotency-key"] for r in flaky.received[:4]} == {
            f"gridgeo-outbox-{ids[0]}"
        }
        state = cursor(store, flaky.url)
        assert (state.delivered_id, state.attempts, state.next_attempt_at) == (ids[-1], 0, None)
        assert state.last_error == ""


def test_timeouts_and_dead_urls_fail_alone_and_the_work_loop_goes_on(
    store: Store, data: Dataset
) -> None:
    case_id = new_case(store, data)
    dead = closed_port_url()
    with Receiver(delays=[5.0]) as slow, Receiver() as good:
        cfg = hooks(slow.url, dead, good.url, timeout=0.3)
        started = time.monotonic()
        r_slow, r_dead, r_good = deliver_once(store, cfg).webhooks
        assert time.monotonic() - started < 3  # the slow receiver did not hold the pass
        assert r_slow.outcome is Outcome.FAILED and "no answer within 0.3 s" in r_slow.error
        assert "Timeout" in r_slow.error
        assert r_dead.outcome is Outcome.FAILED and "ConnectError" in r_dead.error
        assert r_good.outcome is Outcome.CAUGHT_UP and r_good.sent == 1
        assert cursor(store, dead).attempts == 1 and cursor(store, slow.url).attempts == 1

        # the work loop does not care: an action commits, its message waits in the outbox
        register(store, case_id)
        assert len(outbox(store)) == 2
        status = {w.url: w for w in outbox_status(store, cfg).webhooks}
        assert status[dead].pending == 2 and status[good.url].pending == 1
        assert "ConnectError" in status[dead].last_error
        r_slow, r_dead, r_good = deliver_once(store, cfg).webhooks
        assert r_slow.outcome is Outcome.WAITING and r_dead.outcome is Outcome.WAITING
        assert r_good.sent == 1 and good.ids == [m.id for m in outbox(store)]


def test_an_action_never_waits_for_a_webhook_being_posted(store: Store, data: Dataset) -> None:
    """While a delivery waits for a hanging receiver, a case action commits at once (on
    SQLite: no write lock is held over the POST; on PostgreSQL: only the cursor row)."""
    case_id = new_case(store, data)
    with Receiver(delays=[3.0]) as hanging:
        cfg = hooks(hanging.url, timeout=5.0)
        reports: list[Any] = []
        worker = threading.Thread(target=lambda: reports.append(deliver_once(store, cfg)))
        worker.start()
        assert hanging.got_request.wait(5)
        started = time.monotonic()
        register(store, case_id)
        new_case(store, data)
        took = time.monotonic() - started
        assert worker.is_alive()  # the POST is still waiting for its answer
        hanging.release.set()
        worker.join(10)
    assert took < 1.0, f"the action waited {took:.2f} s for the webhook"
    (result,) = reports[0].webhooks
    assert result.sent == 3 and result.outcome is Outcome.CAUGHT_UP  # incl. the new ones


def test_two_workers_never_post_to_one_url_at_once_on_postgresql(
    postgis_url: str, data: Dataset
) -> None:
    with Store(postgis_url) as store:
        new_case(store, data)
        new_case(store, data)
        with Receiver(delays=[1.0]) as hook:
            cfg = hooks(hook.url, timeout=5.0)
            reports: list[Any] = []

            def work() -> None:
                reports.append(deliver_once(store, cfg))

            first = threading.Thread(target=work)
            first.start()
            assert hook.got_request.wait(5)  # the first worker holds the cursor row
            second = threading.Thread(target=work)
            second.start()
            second.join(10)
            first.join(10)
        outcomes = sorted(r.webhooks[0].outcome.value for r in reports)
        assert outcomes == ["busy", "caught_up"]
        assert hook.most_in_flight == 1
        assert hook.ids == [m.id for m in outbox(store)]  # each message once, in order


def _insert_message(conn: Any, note: str) -> int:
    row = conn.execute(
        insert(t.OutboxMessage)
        .values(created_at=t.utcnow(), topic="case.event", event_id=None, payload={"note": note})
        .returning(t.OutboxMessage.id)
    )
    return int(row.scalar_one())


def test_a_message_committed_late_is_not_skipped_on_postgresql(
    postgis_url: str, data: Dataset
) -> None:
    """Ids are drawn at insert, not at commit: a reader must not move past an id that a
    running transaction holds, else that message would never be delivered."""
    with Store(postgis_url) as store, Receiver() as hook:
        cfg = hooks(hook.url)
        new_case(store, data)
        assert deliver_once(store, cfg).sent == 1
        with store.engine.connect() as slow:
            pending = slow.begin()
            slow.execute(update(t.Case).values(description="being edited"))  # its first write
            late = _insert_message(slow, "late")
            new_case(store, data)  # commits a higher id first
            for _ in range(3):
                assert deliver_once(store, cfg).sent == 0  # held back at the gap
            assert read_outbox(store, late - 1) == []
            pending.commit()
        (result,) = deliver_once(store, cfg).webhooks
        assert result.sent == 2 and result.outcome is Outcome.CAUGHT_UP
        assert hook.ids == [m.id for m in outbox(store)] and late in hook.ids

        # a rolled-back id is a gap for good: passed once no transaction can fill it
        with store.engine.connect() as conn:
            gone = conn.begin()
            lost = _insert_message(conn, "rolled back")
            gone.rollback()
        new_case(store, data)
        for _ in range(3):  # the first pass sees the gap; a later one knows it is final
            if deliver_once(store, cfg).sent:
                break
        assert hook.ids == [m.id for m in outbox(store)] and lost not in hook.ids
        assert [r.id for r in read_outbox(store, lost - 1)] == [lost + 1]


# --- gridgeo outbox ------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_outbox_commands(
    store: Store, data: Dataset, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database-url", store.url)
    code, _, err = _run(capsys, "outbox", "deliver", "--once", *db)
    assert code == 2 and "GRIDGEO_WEBHOOKS" in err

    register(store, new_case(store, data))
    dead = closed_port_url()
    with Receiver() as hook:
        monkeypatch.setenv("GRIDGEO_WEBHOOKS", f"{hook.url},{dead}")
        monkeypatch.setenv("GRIDGEO_WEBHOOK_SECRET", SECRET)
        code, out, _ = _run(capsys, "outbox", "status", "--format", "json", *db)
        assert code == 0
        status = json.loads(out)
        assert status["messages"] == 2 and status["newest_id"] == outbox(store)[-1].id
        assert [w["pending"] for w in status["webhooks"]] == [2, 2]
        assert SECRET not in out

        code, out, _ = _run(capsys, "outbox", "deliver", "--once", *db)
        assert code == 1  # one webhook failed
        assert f"{hook.url}：送出 2 条" in out and "ConnectError" in out
        assert len(hook.received) == 2
        assert verify_signature(
            hook.received[0].body, SECRET, hook.received[0].headers["x-gridgeo-signature"]
        )

        code, out, _ = _run(capsys, "outbox", "status", *db)
        assert code == 0
        assert "已送达至 #2，待送 0 条" in out
        assert "连续失败 1 次" in out and "最近错误：消息 1：ConnectError" in out

        code, out, _ = _run(capsys, "outbox", "status", "--lang", "en", *db)
        assert "delivered up to #0, 2 pending" in out and "1 failed attempt(s)" in out

        code, out, _ = _run(capsys, "outbox", "deliver", "--once", "--format", "json", *db)
        report = json.loads(out)
        assert code == 0  # the dead one waits for its retry: not a new failure
        assert [w["outcome"] for w in report["webhooks"]] == ["caught_up", "waiting"]


# --- in the service ------------------------------------------------------------------------


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_the_service_delivers_in_the_background(sqlite_url: str, data: Dataset) -> None:
    dead = closed_port_url()
    with Receiver() as hook:
        cfg = Settings(
            notify=NotifySettings(webhooks=f"{dead},{hook.url}", webhook_interval_s=0.05),
            store=StoreSettings(database_url=sqlite_url),
        )
        app = create_app(cfg)
        store = Store(sqlite_url)
        # reported before the start: report_case reads before it writes, and on SQLite such
        # a transaction fails ("database is locked") if any writer commits in between
        case_id = new_case(store, data)
        with store, TestClient(app) as client:
            worker = app.state.webhooks
            assert worker.running
            wait_for(lambda: len(hook.received) == 1)
            register(store, case_id)  # an action while the worker runs
            wait_for(lambda: len(hook.received) == 2)
            assert hook.ids == [m.id for m in outbox(store)]
            assert cursor(store, dead).attempts >= 1  # failing beside it, retried later
            assert client.get(f"/v1/cases/{case_id}").status_code == 200  # still serving
        assert not worker.running and worker.passes >= 1


def test_shutdown_waits_only_for_the_post_under_way(sqlite_url: str, data: Dataset) -> None:
    with Receiver(delays=[30.0]) as hanging:
        cfg = Settings(
            notify=NotifySettings(
                webhooks=hanging.url, webhook_interval_s=0.05, webhook_timeout_s=1.0
            ),
            store=StoreSettings(database_url=sqlite_url),
        )
        app = create_app(cfg)
        with Store(sqlite_url) as store:
            new_case(store, data)
        with TestClient(app):
            assert hanging.got_request.wait(10)
            stopping = time.monotonic()
        took = time.monotonic() - stopping
        assert took < 2.5, f"shutdown took {took:.1f} s"  # the 1 s timeout, not the 30 s
        assert not app.state.webhooks.running
        assert len(hanging.received) == 1


def test_without_webhooks_the_service_runs_no_delivery(sqlite_url: str, data: Dataset) -> None:
    app = create_app(Settings(store=StoreSettings(database_url=sqlite_url)))
    with TestClient(app):
        assert not app.state.webhooks.running
    assert create_app(data=data).state.webhooks is None  # fixed data: no store, no outbox
