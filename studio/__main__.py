"""`python -m studio` is the `studio` command."""

from studio.cli import main

raise SystemExit(main())
