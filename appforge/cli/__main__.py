"""`python -m appforge.cli`."""

from appforge.cli import main

main()
