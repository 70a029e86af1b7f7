import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from app.domain.errors import AppError
from app.domain.roles import ROLES
from app.schemas.user_schemas import UserCreateSchema
from app.services import user_service

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--full-name", default="")
@click.option("--company", "company_name", default="")
def create_user(username, email, role, full_name, company_name):
    """Create a user. The password is asked for, or read from stdin when it is not a terminal."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        data = UserCreateSchema().load({"username": username, "email": email, "password": password,
                                        "role": role, "full_name": full_name,
                                        "company_name": company_name})
        user = user_service.create_user(data)
    except ValidationError as error:
        for field, messages in error.messages.items():
            click.echo(f"error: {field}: {' '.join(map(str, messages))}", err=True)
        sys.exit(1)
    except AppError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    click.echo(f"created {user.role} {user.username} (id {user.id})")
