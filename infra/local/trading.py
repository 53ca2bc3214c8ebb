"""`stds run --broker ccxt`: the ccxt broker the execution Lambda uses, its safety rails, and reconciliation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from consumers.execution.ccxt_broker import API_KEY_VARIABLE, SECRET_VARIABLE, CcxtBroker, Credentials
from consumers.reconciliation.ports import ExchangeUnreachable
from infra.config import BrokerConfig, StdsConfig
from infra.strategy_loader import LoadedStrategy

log = logging.getLogger(__name__)


class UnsafeToTrade(ValueError):
    """The settings would trade in a way the user did not ask for explicitly; nothing was started."""


class KeysRefused(ValueError):
    """The exchange refused the keys; nothing was started. The message quotes the exchange, never a key."""


def check_keys(broker: CcxtBroker) -> None:
    """Ask the exchange for the account's balances once before anything starts, so keys it refuses end
    the command in one line instead of in the first order, with a state already written."""
    import ccxt

    try:
        broker.balances()
    except ExchangeUnreachable as error:  # nothing known about the keys: the run's reconciliation tries again
        log.warning("exchange keys not checked: %s", error)
    except (ccxt.AuthenticationError, ccxt.PermissionDenied) as error:  # ccxt quotes the answer, not the key
        where = f"{broker.exchange_id} {'testnet' if broker.sandbox else 'exchange'}"
        at = f" at {broker.rest_url}" if broker.rest_url else ""
        raise KeysRefused(
            f"the {where}{at} refused the keys: {error}; set {API_KEY_VARIABLE} and {SECRET_VARIABLE}, or "
            "--key-file, to keys of that account (testnet keys are not the live account's)"
        ) from None


def ccxt_broker(broker: BrokerConfig, credentials: Credentials, rest_url: str | None) -> CcxtBroker:
    """Testnet unless `live`; `rest_url` (a local exchange, or the config's) replaces the exchange's URLs."""
    if broker.live and rest_url is None and broker.rest_url is None:
        return CcxtBroker(broker.exchange, credentials)
    return CcxtBroker(broker.exchange, credentials, sandbox=not broker.live, rest_url=rest_url or broker.rest_url)


def live_banner(config: StdsConfig, specs: Sequence[LoadedStrategy], exchange: str, symbols: Iterable[str]) -> str:
    """What a `--live` run will trade with real money, printed before it starts."""
    policy = config.risk_policy()
    sizes = {spec.name: spec.strategy.params.qty for spec in specs}
    lines = [f"LIVE TRADING on {config.broker.exchange} with real money:"]
    for key in config.sub_accounts(exchange, symbols):
        limits = policy.limits_for(key.strategy, key.symbol)
        lines.append(
            f"  {key.strategy:<20} {key.symbol:<12} {config.strategies[key.strategy].use} qty {sizes[key.strategy]}, "
            f"max order notional {_limit(limits.max_order_notional)}, max position {_limit(limits.max_position)}, "
            f"shorts {'allowed' if limits.allow_short else 'refused'}"
        )
    lines.append("  stop it with Ctrl-C (state is kept); halt orders from another shell with `stds halt --db ...`")
    return "\n".join(lines)


def confirm_live(*, yes: bool, on_terminal: bool, ask: Callable[[str], str] = input) -> None:
    """Real money is spent only on an answer typed at a terminal, or `--yes` given by a script."""
    if yes:
        return
    if not on_terminal:
        raise UnsafeToTrade("--live trades real money and asks first: run it on a terminal, or add --yes in scripts")
    try:
        answer = ask("type yes to trade real money as shown: ")
    except EOFError:  # Ctrl-D, or a terminal closed while asking
        answer = ""
    if answer.strip().lower() != "yes":
        raise UnsafeToTrade("--live not confirmed: nothing was started")


def check_live(config: StdsConfig, symbols: Iterable[str], local_exchange: bool) -> None:
    """Refuse a live run that could not be what the user meant."""
    if not config.broker.live:
        return
    if config.broker.kind != "ccxt":
        raise UnsafeToTrade("--live needs --broker ccxt (the paper broker never trades)")
    if local_exchange:
        raise UnsafeToTrade("--live and --local-exchange contradict each other: the local exchange is a dry run")
    accounts = config.sub_accounts(config.broker.exchange, symbols)
    if not accounts:
        raise UnsafeToTrade("--live with no strategy trading any of --symbols")
    policy = config.risk_policy()
    limits = {key: policy.limits_for(key.strategy, key.symbol) for key in accounts}
    unlimited = [
        f"{key.strategy} {key.symbol}"
        for key, limit in limits.items()
        if limit.max_position is None or limit.max_order_notional is None
    ]
    if unlimited:
        named = ", ".join(unlimited[:3]) + (" ..." if len(unlimited) > 3 else "")
        raise UnsafeToTrade(
            f"--live needs risk limits (a max position and a max order notional), missing for {named}: give "
            "--max-position and --max-order-notional, or set max_position and max_order_notional in the strategies "
            "file's [risk] table (or a strategy's own risk = {...})"
        )


def _limit(value: Decimal | None) -> str:
    return "none" if value is None else str(value)
