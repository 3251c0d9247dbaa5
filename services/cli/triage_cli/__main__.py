from triage_cli.main import cli

cli()
