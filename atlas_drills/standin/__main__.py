import sys

from atlas_drills.standin.cli import main

sys.exit(main())
