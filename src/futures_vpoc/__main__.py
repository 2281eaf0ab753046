"""``python -m futures_vpoc`` runs the command-line interface."""

from futures_vpoc.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
