import sys

from kinema.cli import entry

sys.exit(entry())
