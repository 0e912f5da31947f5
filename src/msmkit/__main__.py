from msmkit.cli import main

main()
