"""``gridgeo outbox``: deliver the outbox to the webhooks, and show how far each one got.

``deliver`` runs the same delivery passes as the service (``gridgeo.notify``):
for a deployment whose webhooks are delivered by a separate process, or by
cron with ``--once``. ``status`` reads only. Text is Chinese by default
(``--lang en``, or ``GRIDGEO_LANG=en``).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from gridgeo import notify
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_database_options, add_format, emit_json
from gridgeo.cli.store import open_store
from gridgeo.i18n import tr
from gridgeo.notify import DeliveryReport, OutboxStatus, Outcome, WebhookResult

EXIT_OK, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "outbox",
        help=help_of("outbox"),
        description=tr(
            "Case changes are written to the outbox with the change itself; these "
            "commands send them to the configured webhooks (at-least-once, signed with "
            "GRIDGEO_WEBHOOK_SECRET, retried with backoff) and show how far each one got. "
            "docs/NOTIFY.md."
        ),
    )
    actions = p.add_subparsers(dest="outbox_command", required=True, metavar=tr("ACTION"))

    d = actions.add_parser(
        "deliver",
        help=tr("deliver pending messages, pass after pass (or one pass with --once)"),
        description=tr(
            "Deliver the outbox to every configured webhook until interrupted, a "
            "pass every --interval seconds. With --once: one pass, exit 1 if a webhook failed."
        ),
    )
    d.add_argument("--once", action="store_true", help=tr("one pass, then exit"))
    d.add_argument(
        "--interval",
        type=_positive,
        metavar="S",
        help=tr("seconds between passes (default GRIDGEO_WEBHOOK_INTERVAL_S)"),
    )
    _options(d)
    d.set_defaults(handler=run_deliver)

    text = tr("per webhook: delivered id, pending messages, attempts, next attempt, last error")
    s = actions.add_parser("status", help=text, description=text)
    _options(s)
    s.set_defaults(handler=run_status)


def _options(p: argparse.ArgumentParser) -> None:
    add_database_options(p, actor=False)
    add_format(p)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a number: {text!r}", text=text)) from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(tr("must be > 0, not {text}", text=text))
    return value


def run_deliver(args: argparse.Namespace) -> int:
    store, cfg, _ = open_store(args)
    if not notify.webhook_urls(cfg):
        raise notify.WebhookConfigError(_no_webhooks())
    if args.once:
        report = notify.deliver_once(store, cfg)
        if args.format == "json":
            emit_json(report.to_dict())
        else:
            print("\n".join(_result_line(r) for r in report.webhooks))
        return EXIT_PROBLEMS if report.failed else EXIT_OK
    interval = args.interval or cfg.notify.webhook_interval_s
    try:
        while True:
            report = notify.deliver_once(store, cfg)
            _print_pass(report, args.format)
            if not any(r.outcome is Outcome.MORE for r in report.webhooks):
                time.sleep(interval)
    except KeyboardInterrupt:  # the way to stop it, as with `gridgeo serve`
        return EXIT_OK


def _print_pass(report: DeliveryReport, fmt: str) -> None:
    """Only the passes that did something (an idle loop stays quiet)."""
    busy = [r for r in report.webhooks if r.sent or r.outcome is Outcome.FAILED]
    if not busy:
        return
    if fmt == "json":
        emit_json(report.to_dict())
    else:
        print("\n".join(_result_line(r) for r in busy), flush=True)


def run_status(args: argparse.Namespace) -> int:
    store, cfg, _ = open_store(args)
    status = notify.outbox_status(store, cfg)
    if args.format == "json":
        emit_json(status.to_dict())
    else:
        print(status_text(status))
    return EXIT_OK


def _no_webhooks() -> str:
    return tr("no webhooks configured: set GRIDGEO_WEBHOOKS (comma-separated URLs)")


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else "-"


def status_text(status: OutboxStatus) -> str:
    """``gridgeo outbox status`` for people, in the current language."""
    lines = [
        tr(
            "outbox: {n} message(s), newest #{newest}",
            n=status.messages,
            newest=status.newest_id,
        )
    ]
    if not status.webhooks:
        lines.append(_no_webhooks())
    for w in status.webhooks:
        lines.append(notify.redact(w.url))
        lines.append(
            tr(
                "  delivered up to #{id}, {n} pending",
                id=w.delivered_id,
                n=w.pending,
            )
        )
        if w.attempts:
            lines.append(
                tr(
                    "  {n} failed attempt(s) in a row, next attempt {when}",
                    n=w.attempts,
                    when=_when(w.next_attempt_at),
                )
            )
        if w.last_error:
            lines.append(tr("  last error: {error}", error=w.last_error))
    return "\n".join(lines)


def _result_line(r: WebhookResult) -> str:
    """What one pass did for one webhook, in the current language."""
    when = _when(r.next_attempt_at)
    if r.outcome is Outcome.CAUGHT_UP:
        text = tr("sent {n}, delivered up to #{id}", n=r.sent, id=r.delivered_id)
    elif r.outcome is Outcome.MORE:
        text = tr("sent {n}, delivered up to #{id}; more next pass", n=r.sent, id=r.delivered_id)
    elif r.outcome is Outcome.WAITING:
        text = tr("waiting to retry ({n} failure(s)), next attempt {when}", n=r.attempts, when=when)
    elif r.outcome is Outcome.BUSY:
        text = tr("another process is delivering; skipped")
    elif r.outcome is Outcome.FAILED:
        text = tr(
            "failed after {n} sent (attempt {attempt}), next attempt {when}: {error}",
            n=r.sent,
            attempt=r.attempts,
            when=when,
            error=r.error,
        )
    else:
        text = tr("stopped after {n} sent", n=r.sent)
    return tr("{url}: {text}", url=notify.redact(r.url), text=text)
