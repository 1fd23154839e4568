from ftops.cli import run

run()
