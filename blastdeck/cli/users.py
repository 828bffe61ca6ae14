"""`blastdeck user` and `blastdeck token`: accounts and their API tokens, on the data dir."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from blastdeck.cli.backends import on_data_dir
from blastdeck.cli.options import DataDirOpt
from blastdeck.cli.output import console, plain, say

if TYPE_CHECKING:
    from blastdeck.store.models import User

user_app = typer.Typer(help="Users (when auth is on): add and list.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (shown once) and revoke.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name")],
    admin: Annotated[bool, typer.Option("--admin", help="may see every job, add clusters")] = False,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="a group whose shared databases they use")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a user (on the local data dir / database)."""
    with on_data_dir(data_dir) as runtime:
        user = runtime.users.add(name, admin=admin, groups=group or ())
        say(_describe_user(user))


@user_app.command("list")
def user_list(data_dir: DataDirOpt = None) -> None:
    """List users."""
    with on_data_dir(data_dir) as runtime:
        for user in runtime.users.list():
            say(_describe_user(user))


def _describe_user(user: User) -> str:
    groups = f" groups: {', '.join(user.groups)}" if user.groups else ""
    return f"{user.name}{' (admin)' if user.is_admin else ''}{groups}"


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="the user the token acts as")],
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API token. It is printed once; only its hash is kept."""
    with on_data_dir(data_dir) as runtime:
        console.print(plain(runtime.users.create_token(user)), soft_wrap=True)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="the token, or its id (bd_<id>_...)")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a token: it stops working at once."""
    with on_data_dir(data_dir) as runtime:
        runtime.users.revoke(token)
        say("revoked")
