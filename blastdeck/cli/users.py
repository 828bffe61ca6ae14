"""`blastdeck user` and `blastdeck token`: accounts and their API tokens.

Admin tasks on the server host: they work on the data dir (its database), never over HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from blastdeck.cli.backends import on_data_dir
from blastdeck.cli.options import DataDirOpt
from blastdeck.cli.output import console, plain, say, table

if TYPE_CHECKING:
    from blastdeck.store.models import User

user_app = typer.Typer(
    help="Users (when auth is on): add, list, disable, enable and remove.", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens: create (shown once), list and revoke.", no_args_is_help=True
)

UserArg = Annotated[str, typer.Argument(help="user name")]


@user_app.command("add")
def user_add(
    name: UserArg,
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


@user_app.command("disable")
def user_disable(name: UserArg, data_dir: DataDirOpt = None) -> None:
    """Disable a user: their tokens are refused (401) at once; what they own stays.

    Their jobs (running ones too) and databases are kept; `user enable` undoes it."""
    with on_data_dir(data_dir) as runtime:
        user = runtime.users.set_disabled(name, True)
        say(f"{_describe_user(user)}: tokens refused until blastdeck user enable {user.name}")


@user_app.command("enable")
def user_enable(name: UserArg, data_dir: DataDirOpt = None) -> None:
    """Enable a disabled user: their tokens that are not revoked work again."""
    with on_data_dir(data_dir) as runtime:
        say(_describe_user(runtime.users.set_disabled(name, False)))


@user_app.command("remove")
def user_remove(
    name: UserArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="remove a user who owns jobs or databases; those are kept, owned by no account",
        ),
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a user and their tokens (refused while they own jobs or databases).

    Disable them instead, or use --force: nothing they own is deleted or given to anyone else;
    it stays, owned by no account, so only admins see those jobs and private databases."""
    with on_data_dir(data_dir) as runtime:
        removal = runtime.users.remove(name, force=force)
        say(f"removed {removal.user.name} and {removal.tokens} token(s)")
        if removal.jobs_kept or removal.databases_kept:
            say(
                f"kept {removal.jobs_kept} job(s) and {removal.databases_kept} database(s) "
                "they owned, now owned by no account (admins see them)"
            )


def _describe_user(user: User) -> str:
    groups = f" groups: {', '.join(user.groups)}" if user.groups else ""
    admin = " (admin)" if user.is_admin else ""
    disabled = " (disabled)" if user.disabled_at else ""
    return f"{user.name}{admin}{disabled}{groups}"


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="the user the token acts as")],
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API token. It is printed once; only its hash is kept."""
    with on_data_dir(data_dir) as runtime:
        console.print(plain(runtime.users.create_token(user)), soft_wrap=True)


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Argument(help="only this user's tokens")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List tokens: id (what `token revoke` takes), user, created, last used, state.

    Never their secrets. Times are UTC; the last use is recorded to the minute."""
    with on_data_dir(data_dir) as runtime:
        tokens = runtime.users.tokens(user)
        rows = [
            [
                t.id,
                t.user,
                _when(t.created_at),
                _when(t.last_used_at) or "never",
                f"revoked {_when(t.revoked_at)}" if t.revoked_at else "active",
            ]
            for t in tokens
        ]
        console.print(table("id", "user", "created", "last used", "state", rows=rows))


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="the token, or its id (bd_<id>_...)")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a token: it stops working at once."""
    with on_data_dir(data_dir) as runtime:
        runtime.users.revoke(token)
        say("revoked")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
