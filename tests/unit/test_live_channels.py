"""Asterisk's live channels read from a command, as the FastAGI sweep asks for them."""
import asyncio
import shlex

from app.services.routing.live_channels import CommandSource, channel_ids

# Two lines of `core show channels concise` (Asterisk 22: 14 fields, the uniqueid last but
# for nothing): the carrier's channel in Dial, and the call center's leg.
CONCISE = (
    "PJSIP/carrier-1-00000007!cc-inbound!14155550102!5!Ring!Dial!"
    "PJSIP/acme-cc,30,U(cc-answered^pbx-a-1795512212.7^1)!+13105550100!!!3!12!!pbx-a-1795512212.7\n"
    "PJSIP/acme-cc-00000008!cc-inbound!!1!Ringing!AppDial!(Outgoing Line)!!!!3!12!!pbx-a-1795512212.8\n"
)


def test_concise_lines_and_plain_ids_give_the_uniqueids():
    assert channel_ids(CONCISE.splitlines() + ["", "  pbx-b-1.1  "]) == [
        "pbx-a-1795512212.7", "pbx-a-1795512212.8", "pbx-b-1.1"]


def test_a_command_that_lists_the_channels_gives_their_ids():
    source = CommandSource(f"printf %s {shlex.quote(CONCISE)}")
    assert asyncio.run(source()) == ["pbx-a-1795512212.7", "pbx-a-1795512212.8"]


def test_an_empty_listing_means_no_channel_but_a_failed_or_stuck_command_means_unknown():
    assert asyncio.run(CommandSource("true")()) == []
    assert asyncio.run(CommandSource("echo 'Unable to connect to remote asterisk' >&2; exit 1")()) is None
    assert asyncio.run(CommandSource("sleep 5", timeout=0.2)()) is None
