"""``gridgeo outbox``: deliver the outbox to the webhooks, and show how far each one got.

``deliver`` runs the same delivery passes as the service (``gridgeo.notify``):
for a deployment whose webhooks are delivered by a separate process, or by
cron with ``--once``. ``status`` reads only. Text is Chinese by default
(``--lang en``, or ``GRIDGEO_LANG``).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from gridgeo import notify
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_format, emit_json
from gridgeo.cli.store import open_store
from gridgeo.i18n import current_lang
from gridgeo.notify import DeliveryReport, OutboxStatus, Outcome, WebhookResult
from gridgeo.settings import Settings

EXIT_OK, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "outbox",
        help=help_of("outbox"),
        description="Case changes are written to the outbox with the change itself; these "
        "commands send them to the configured webhooks (at-least-once, signed with "
        "GRIDGEO_WEBHOOK_SECRET, retried with backoff) and show how far each one got. "
        "docs/NOTIFY.md.",
    )
    actions = p.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")

    d = actions.add_parser(
        "deliver",
        help="deliver pending messages, pass after pass (or one pass with --once)",
        description="Deliver the outbox to every configured webhook until interrupted, a "
        "pass every --interval seconds. With --once: one pass, exit 1 if a webhook failed.",
    )
    d.add_argument("--once", action="store_true", help="one pass, then exit")
    d.add_argument(
        "--interval",
        type=_positive,
        metavar="S",
        help="seconds between passes (default GRIDGEO_WEBHOOK_INTERVAL_S)",
    )
    _options(d)
    d.set_defaults(handler=run_deliver)

    s = actions.add_parser(
        "status",
        help="per webhook: delivered id, pending messages, attempts, next attempt, last error",
    )
    _options(s)
    s.set_defaults(handler=run_status)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="store URL (default GRIDGEO_DATABASE_URL)")
    add_format(p)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def _lang(args: argparse.Namespace, cfg: Settings) -> str:
    return current_lang()


def run_deliver(args: argparse.Namespace) -> int:
    store, cfg, _ = open_store(args)
    lang = _lang(args, cfg)
    if not notify.webhook_urls(cfg):
        raise notify.WebhookConfigError(_NO_WEBHOOKS[lang])
    if args.once:
        report = notify.deliver_once(store, cfg)
        if args.format == "json":
            emit_json(report.to_dict())
        else:
            print("\n".join(_result_line(r, lang) for r in report.webhooks))
        return EXIT_PROBLEMS if report.failed else EXIT_OK
    interval = args.interval or cfg.webhook_interval_s
    try:
        while True:
            report = notify.deliver_once(store, cfg)
            _print_pass(report, args.format, lang)
            if not any(r.outcome is Outcome.MORE for r in report.webhooks):
                time.sleep(interval)
    except KeyboardInterrupt:  # the way to stop it, as with `gridgeo serve`
        return EXIT_OK


def _print_pass(report: DeliveryReport, fmt: str, lang: str) -> None:
    """Only the passes that did something (an idle loop stays quiet)."""
    busy = [r for r in report.webhooks if r.sent or r.outcome is Outcome.FAILED]
    if not busy:
        return
    if fmt == "json":
        emit_json(report.to_dict())
    else:
        print("\n".join(_result_line(r, lang) for r in busy), flush=True)


def run_status(args: argparse.Namespace) -> int:
    store, cfg, _ = open_store(args)
    status = notify.outbox_status(store, cfg)
    if args.format == "json":
        emit_json(status.to_dict())
    else:
        print(status_text(status, _lang(args, cfg)))
    return EXIT_OK


_NO_WEBHOOKS = {
    "zh": "未配置 webhook：在 GRIDGEO_WEBHOOKS 中填写 URL（逗号分隔）",
    "en": "no webhooks configured: set GRIDGEO_WEBHOOKS (comma-separated URLs)",
}


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else "-"


def status_text(status: OutboxStatus, lang: str = "zh") -> str:
    """``gridgeo outbox status`` for people."""
    zh = lang == "zh"
    if zh:
        lines = [f"发件箱：{status.messages} 条消息，最新 #{status.newest_id}"]
    else:
        lines = [f"outbox: {status.messages} message(s), newest #{status.newest_id}"]
    if not status.webhooks:
        lines.append(_NO_WEBHOOKS[lang])
    for w in status.webhooks:
        lines.append(notify.redact(w.url))
        if zh:
            lines.append(f"  已送达至 #{w.delivered_id}，待送 {w.pending} 条")
        else:
            lines.append(f"  delivered up to #{w.delivered_id}, {w.pending} pending")
        if w.attempts:
            when = _when(w.next_attempt_at)
            lines.append(
                f"  连续失败 {w.attempts} 次，下次尝试 {when}"
                if zh
                else f"  {w.attempts} failed attempt(s) in a row, next attempt {when}"
            )
        if w.last_error:
            lines.append(f"  最近错误：{w.last_error}" if zh else f"  last error: {w.last_error}")
    return "\n".join(lines)


def _result_line(r: WebhookResult, lang: str) -> str:
    url = notify.redact(r.url)
    when = _when(r.next_attempt_at)
    if lang == "zh":
        text = {
            Outcome.CAUGHT_UP: f"送出 {r.sent} 条，已送达至 #{r.delivered_id}",
            Outcome.MORE: f"送出 {r.sent} 条，已送达至 #{r.delivered_id}，余下的下一轮继续",
            Outcome.WAITING: f"等待重试（已失败 {r.attempts} 次），下次尝试 {when}",
            Outcome.BUSY: "另一进程正在投递，本轮跳过",
            Outcome.FAILED: f"送出 {r.sent} 条后失败（第 {r.attempts} 次），下次尝试 {when}："
            f"{r.error}",
            Outcome.STOPPED: f"已停止，送出 {r.sent} 条",
        }[r.outcome]
        return f"{url}：{text}"
    text = {
        Outcome.CAUGHT_UP: f"sent {r.sent}, delivered up to #{r.delivered_id}",
        Outcome.MORE: f"sent {r.sent}, delivered up to #{r.delivered_id}; more next pass",
        Outcome.WAITING: f"waiting to retry ({r.attempts} failure(s)), next attempt {when}",
        Outcome.BUSY: "another process is delivering; skipped",
        Outcome.FAILED: f"failed after {r.sent} sent (attempt {r.attempts}), next attempt "
        f"{when}: {r.error}",
        Outcome.STOPPED: f"stopped after {r.sent} sent",
    }[r.outcome]
    return f"{url}: {text}"
