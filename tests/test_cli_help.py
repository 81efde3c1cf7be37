"""Every command documents each option and its default."""

import re

import pytest
from click.testing import CliRunner

from bnncc.cli import main

COMMANDS = sorted(main.commands)


def help_text(*args):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_top_level_help_lists_commands_and_exit_codes():
    text = help_text()
    for command in COMMANDS:
        assert command in text
    assert "Exit codes" in text
    assert CliRunner().invoke(main, ["-h"]).exit_code == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_described_with_default(command):
    text = help_text(command)
    for param in main.commands[command].params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        option = max(param.opts, key=len)
        match = re.search(re.escape(option) + r"[^\n]*\n?(.*?)(?=\n  -|\Z)", text, re.S)
        assert match, (command, option)
        description = match.group(0)
        assert len(description.split()) > 4, (command, option, description)
        if not param.is_flag:
            assert "default" in description.lower(), (command, option, description)
