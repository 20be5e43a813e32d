import sys

from atlas_drills.cli import main

sys.exit(main())
