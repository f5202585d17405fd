"""The application file given to spark-submit: `spark-submit [options] deploy/driver.py COMMAND [flags]`.

It runs the `leakwatch` command line inside the Spark driver, with the installed package (from the
image or the environment archive), not with the source tree's `jobs/` as the script folder.
"""

import sys

from jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
