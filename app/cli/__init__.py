"""`flask` sub-commands, registered explicitly by create_app."""
from app.cli.agi import agi_cli
from app.cli.calls import calls_cli
from app.cli.events import events_cli
from app.cli.routing import routing_cli
from app.cli.sample_data import sample_data_cli
from app.cli.users import users_cli


def register_cli(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(sample_data_cli)
    app.cli.add_command(routing_cli)
    app.cli.add_command(agi_cli)
    app.cli.add_command(calls_cli)
    app.cli.add_command(events_cli)
