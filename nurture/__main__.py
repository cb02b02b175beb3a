"""`python -m nurture`: the same as the `nurture` command."""

from nurture.cli.main import app

app(prog_name="nurture")
