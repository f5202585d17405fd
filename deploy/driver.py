"""The application file given to spark-submit: `spark-submit [options] deploy/driver.py COMMAND [flags]`.

It runs the `leakwatch` command line inside the Spark driver, with the installed package (from the
image or the environment archive), not with a folder of the source tree as the script's folder,
whose modules would shadow others.
"""

import sys

from leakwatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
