"""`prfaas` builds only the command its command line names (`cli/registry.py`); what a user sees
must be the full app's: the same help for every command and group, the same usage errors."""

import pytest
from typer.testing import CliRunner

from prfaas_plan.cli.app import app
from prfaas_plan.cli.registry import COMMANDS, build_app, command_name

runner = CliRunner()
NAMES = [c[0] for c in COMMANDS]


def test_the_full_app_has_every_listed_command_and_no_other():
    full = runner.invoke(app, ["--help"]).output
    listed = [line.split()[0] for line in full.split("Commands:")[1].splitlines() if line.startswith("  ")]
    assert listed == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_one_command_app_shows_what_the_full_app_shows(name):
    one = build_app(name)
    for args in ([name, "--help"], [name, "--no-such-flag"]):
        a, b = runner.invoke(app, args), runner.invoke(one, args)
        assert (a.exit_code, a.output) == (b.exit_code, b.output), args


def test_command_name_skips_root_flags_and_refuses_the_rest():
    assert command_name(["kv", "minimax-m2.5"]) == "kv"
    assert command_name(["--debug", "perf", "x"]) == "perf"
    assert command_name(["--debug", "--debug", "catalog", "models"]) == "catalog"
    assert command_name([]) is None
    assert command_name(["--help"]) is None
    assert command_name(["--debug"]) is None
    assert command_name(["kvv"]) is None
    assert command_name(["--verbose", "kv"]) is None  # not a root flag: the full app reports it
