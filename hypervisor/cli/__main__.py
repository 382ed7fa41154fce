"""`python3 -m hypervisor.cli`: what /usr/bin/xenbox runs."""
import sys

from hypervisor.cli.main import main

sys.exit(main())
