"""Every `atlas-drills` subcommand explains itself: `--help` on each one shows a description, every subcommand is
listed with a line of help by its parent, and every argument says what it is for. The walk discovers subcommands from
the parser itself, so a subcommand added later is covered without touching this file."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import pytest

from atlas_drills.cli import build_parser, main

SECTION_HEADINGS = ("options:", "positional arguments:", "optional arguments:")


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


def description_of(help_text: str) -> str:
    """The paragraph(s) between the usage block and the first section of a rendered --help."""
    blocks = [block.strip() for block in help_text.split("\n\n") if block.strip()]
    text = []
    for block in blocks[1:]:  # blocks[0] is the usage
        if block.startswith(SECTION_HEADINGS) or block.split("\n", 1)[0].endswith(":"):
            break
        text.append(block)
    return "\n".join(text)


def help_problems(parser: argparse.ArgumentParser) -> list[str]:
    """Every subcommand without a description in its --help, unlisted help line, or argument without help."""
    problems = []
    for path, sub in walk(parser):
        name = " ".join((parser.prog, *path))
        if not description_of(sub.format_help()):
            problems.append(f"{name}: --help shows no description")
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                # argparse lists a subcommand in its parent's help only when it was given a help line.
                listed = {choice.dest for choice in action._choices_actions if choice.help}
                problems += [
                    f"{name} {sub_name}: listed without a help line"
                    for sub_name in action.choices
                    if sub_name not in listed
                ]
            elif not action.help:
                problems.append(f"{name}: argument {'/'.join(action.option_strings) or action.dest} has no help")
    return problems


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    commands = [path for path, _ in walk(parser)]
    # The walk reaches the nested actions the CLI is known to have (guards against a walk that finds nothing).
    assert {("faults", "list"), ("faults", "apply"), ("engine", "ensure"), ("images", "build")} <= set(commands)
    assert help_problems(parser) == []


def test_the_check_names_a_subcommand_without_description_and_an_argument_without_help() -> None:
    parser = argparse.ArgumentParser(prog="tool", description="The tool.")
    actions = parser.add_subparsers(dest="command")
    bare = actions.add_parser("bare")  # no help line, no description
    bare.add_argument("--flag")
    described = actions.add_parser("described", help="is described", description="Does one thing.")
    described.add_argument("--size", help="how big")
    assert help_problems(parser) == [
        "tool bare: listed without a help line",
        "tool bare: --help shows no description",
        "tool bare: argument --flag has no help",
    ]


@pytest.mark.parametrize("path", [path for path, _ in walk(build_parser())], ids=lambda p: " ".join(p) or "(top)")
def test_help_runs_and_exits_zero(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: atlas-drills {' '.join(path)}".rstrip())
    assert description_of(out), out
