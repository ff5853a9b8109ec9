"""`python -m arco.stack up|down|status` (what `make stack` and `make stack-down` run)."""

import os
import sys

from arco.stack.commands import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without interpreter teardown: a deploy read Parquet, and pyarrow's thread pools
    # can abort the process at teardown (see arco.cli.main.main).
    os._exit(code)
