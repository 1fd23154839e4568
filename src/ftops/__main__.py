from ftops.cli import main

main()
