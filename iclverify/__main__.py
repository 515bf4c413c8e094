import sys

from iclverify.cli import main

sys.exit(main())
